"""Domain errors to HTTP: the only place that knows status codes. Every error body is JSON with a ``detail``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from api.schemas import ErrorPublic, TransitionErrorPublic
from triage.kernel.errors import (
    Conflict,
    IllegalTransition,
    InvalidDataset,
    InvalidRequest,
    InvalidTicket,
    ModelNotReady,
    NotFound,
    NotReady,
    PermissionDenied,
    StageFailed,
    TriageError,
)

logger = logging.getLogger("triage.api")

_STATUS: tuple[tuple[type[TriageError], int], ...] = (
    (InvalidTicket, 422),
    (InvalidRequest, 422),
    (InvalidDataset, 422),
    (NotFound, 404),
    (Conflict, 409),
    (PermissionDenied, 403),
    (NotReady, 503),
    (ModelNotReady, 503),
    (StageFailed, 503),
)

#: Documented on every route (the OpenAPI schema lists each error response).
COMMON_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "Missing or invalid `Authorization: Bearer <key>`."},
    403: {"model": ErrorPublic, "description": "The key's role may not do this."},
    413: {"model": ErrorPublic, "description": "The request body is larger than `TRIAGE_MAX_BODY_BYTES`."},
    422: {"description": "Invalid input; the message or `detail[].loc` names the field."},
    503: {"model": ErrorPublic, "description": "The service is starting (models loading) or a dependency is down."},
}
NOT_FOUND = {404: {"model": ErrorPublic, "description": "No such ticket, or not visible to this key."}}
CONFLICT = {409: {"model": TransitionErrorPublic, "description": "Illegal status change (lists the allowed ones), "
                  "or a conflict with stored state."}}  # fmt: skip


def status_of(error: TriageError) -> int:
    return next((code for kind, code in _STATUS if isinstance(error, kind)), 500)


def install(app: FastAPI, *, pages: Callable[[Request, TriageError], Response | None] | None = None) -> None:
    """Register the handlers on ``app``; ``pages`` may answer errors of HTML pages (the console's) instead."""

    @app.exception_handler(TriageError)
    async def triage_error(request: Request, exc: TriageError) -> Response:
        page = pages(request, exc) if pages is not None else None
        if page is not None:
            return page
        if isinstance(exc, IllegalTransition):
            body = {"detail": str(exc), "current": exc.current, "allowed": list(exc.allowed)}
            return JSONResponse(body, status_code=409)
        code = status_of(exc)
        if code == 500:
            logger.error("unmapped service error", extra={"error": type(exc).__name__})
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error", extra={"error": type(exc).__name__})
        return JSONResponse({"detail": "internal error; it was logged"}, status_code=500)
