"""The web console for managers and agents, served by the same app as the API (``triage serve``, at ``/``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console import i18n
from api.console.auth import CsrfRejected, LoginRequired, language_of, login_url
from api.console.pages import HERE, render, router
from triage.kernel.errors import NotFound, NotReady, PermissionDenied, TriageError

#: Paths the console owns (the API lives under /api/, operations at /healthz, /readyz, /metrics, /docs).
CONSOLE_PREFIXES = ("/login", "/logout", "/dashboard", "/queue", "/triage", "/tickets/", "/console/", "/static/")


def is_console(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path.startswith(CONSOLE_PREFIXES)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/console/")


def error_page(request: Request, status: int, *, csrf: bool = False) -> Response:
    """The console's error page (404, 403, 503), or JSON for the console's data endpoints."""
    if not _wants_html(request):
        return JSONResponse({"detail": "CSRF check failed" if csrf else f"error {status}"}, status_code=status)
    service = getattr(request.app.state, "service", None)
    key = {403: "error.403", 404: "error.404", 503: "error.503"}.get(status, "error.404")
    language = language_of(request)
    text = i18n.translate(language, "error.csrf" if csrf else f"{key}.text")
    return render(request, service, None, "error.html", status=status, code=status,
                  title=i18n.translate(language, f"{key}.title"), text=text)  # fmt: skip


def console_error(request: Request, exc: TriageError) -> Response | None:
    """The console's answer to a service error, or ``None`` to let the API's JSON handler answer."""
    if not is_console(request):
        return None
    if isinstance(exc, NotFound):
        return error_page(request, 404)
    if isinstance(exc, PermissionDenied):
        return error_page(request, 403)
    if isinstance(exc, NotReady):
        return error_page(request, 503)
    return None


def install(app: FastAPI) -> None:
    """Add the console's pages, its static files and its error pages to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/console/"):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return Response(status_code=303, headers={"Location": login_url(exc.next_path), "Cache-Control": "no-store"})

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        return error_page(request, 403, csrf=True)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and _wants_html(request) and not request.url.path.startswith("/api/"):
            return error_page(request, 404)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
