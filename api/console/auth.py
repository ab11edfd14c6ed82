"""Who is looking at a console page: the session cookie, CSRF protection, the language and the time zone.

* The session cookie holds a random token (its SHA-256 is the session's key in the database). It is ``HttpOnly``,
  ``SameSite=Lax`` and, by default, ``Secure`` with the ``__Host-`` prefix (bound to this host, path ``/``).
* Every form and every state change carries a CSRF token: the session's own (synchronizer pattern), sent as the
  ``csrf_token`` field or the ``X-CSRF-Token`` header. The sign-in form, before any session exists, uses a
  double-submit cookie. A request whose ``Origin`` or ``Sec-Fetch-Site`` says it came from another site is refused
  whatever its token.
* The language is a cookie (``en`` or ``zh``); the time zone is the browser's, sent once with the sign-in form and
  kept in the session.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.console.i18n import choose_language
from triage.adapters.bootstrap import Service
from triage.domain.access import Principal
from triage.kernel.clock import utc_now
from triage.kernel.errors import NotReady
from triage.ports import ConsoleSession
from triage.services.users import resume_session

LANG_COOKIE = "triage_lang"
MAX_FORM_FIELDS = 50


class LoginRequired(Exception):
    """No valid session: pages redirect to the sign-in form, data endpoints answer 401."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A state change without a valid CSRF token, or from another site (403)."""


@dataclass(frozen=True)
class Viewer:
    """A signed-in person looking at the console."""

    principal: Principal
    session: ConsoleSession
    language: str
    zone: ZoneInfo

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


def cookie_names(service: Service) -> tuple[str, str]:
    """``(session cookie, sign-in CSRF cookie)``: ``__Host-`` names when cookies are ``Secure``."""
    prefix = "__Host-" if service.settings.console_secure_cookies else ""
    return f"{prefix}triage_session", f"{prefix}triage_login_csrf"


def console_service(request: Request) -> Service:
    """The running service (the console needs the database, not the models, so it works while they load)."""
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        raise NotReady("the service is starting")
    return service


ConsoleService = Annotated[Service, Depends(console_service)]


def language_of(request: Request) -> str:
    return choose_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def safe_next(path: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: ``//evil``, ``https://...`` and ``/\\evil`` are refused)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return default
    return path


def login_url(next_path: str) -> str:
    return f"/login?next={quote(safe_next(next_path), safe='/')}"


async def optional_viewer(request: Request, service: ConsoleService) -> Viewer | None:
    """The signed-in viewer, or ``None``."""
    session_cookie, _ = cookie_names(service)
    token = request.cookies.get(session_cookie)
    if not token or len(token) > 200:
        return None
    settings = service.settings
    found = await run_in_threadpool(resume_session, service.start, token, now=utc_now(),
                                    idle=timedelta(minutes=settings.console_idle_minutes))  # fmt: skip
    if found is None:
        return None
    principal, session = found
    request.scope.setdefault("state", {})["key_id"] = principal.id  # the access log names the user's id
    return Viewer(principal, session, language_of(request), ZoneInfo(session.time_zone))


async def require_viewer(request: Request, viewer: Annotated[Viewer | None, Depends(optional_viewer)]) -> Viewer:
    """The signed-in viewer; otherwise :class:`LoginRequired` (a redirect to ``/login`` for pages)."""
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    return viewer


ViewerDep = Annotated[Viewer, Depends(require_viewer)]
OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


def _same_origin(request: Request) -> bool:
    """Whether the request came from a page of this console (Fetch Metadata, else the ``Origin`` header)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")  # "none": typed by the user, e.g. a bookmark
    origin = request.headers.get("origin")
    if origin is None:  # an old browser: the token still has to match
        return True
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, str]:
    """The URL-encoded form of a POST (the last value of a repeated field wins); ``{}`` for other bodies."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        return dict(parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except ValueError as exc:
        raise CsrfRejected(f"unreadable form: {exc}") from None


FormDep = Annotated[dict[str, str], Depends(read_form)]


def check_csrf(request: Request, form: dict[str, str], expected: str) -> None:
    """Refuse a state change from another site, or without the expected token.

    Raises:
        CsrfRejected: the token is missing or wrong, or ``Origin``/``Sec-Fetch-Site`` name another site.
    """
    sent = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
    if not _same_origin(request) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected("missing or wrong CSRF token, or a request from another site")


async def csrf_viewer(request: Request, viewer: ViewerDep, form: FormDep) -> Viewer:
    """The viewer of a state-changing request, after its CSRF check."""
    check_csrf(request, form, viewer.csrf_token)
    return viewer


CsrfViewerDep = Annotated[Viewer, Depends(csrf_viewer)]


def login_csrf(request: Request, service: Service | None) -> tuple[str, bool]:
    """The sign-in form's double-submit token: the cookie's, or a new one (``True``: set it on the response)."""
    if service is None:
        return "", False
    _, name = cookie_names(service)
    token = request.cookies.get(name)
    if token and 20 <= len(token) <= 100:
        return token, False
    return secrets.token_urlsafe(32), True


def set_cookie(response: Response, service: Service, name: str, value: str, *, max_age: int | None,
               samesite: str = "lax") -> None:  # fmt: skip
    response.set_cookie(name, value, max_age=max_age, path="/", secure=service.settings.console_secure_cookies,
                        httponly=True, samesite=samesite)  # type: ignore[arg-type]  # fmt: skip
