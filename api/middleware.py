"""ASGI middleware: request body limit, security headers, access log and request metrics.

The access log has no ticket text and no personal data: method, route template, status, duration, request id and
the caller's key id.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import ServiceMetrics

access_log = logging.getLogger("triage.access")

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # no referrer leaves this server; forms still send their Origin
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
#: Everything the console loads comes from this server: no inline script or style, no event-handler attributes, no
#: plugins, no framing, forms only to this server. Ticket text that slipped through escaping still could not run.
CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
#: FastAPI's interactive API docs load Swagger UI / ReDoc from their CDN with an inline script; they keep the other
#: headers but not the console's policy.
_DOCS = ("/docs", "/redoc")


class _TooLarge(Exception):
    pass


class ServiceMiddleware:
    """Body limit (413, checked on ``Content-Length`` and while streaming), headers, log and metrics."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: ServiceMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:12]
        status = {"code": 500}
        limit = self.max_body_bytes
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._too_large(send, int(length))
            self._record(scope, 413, started, request_id)
            return
        seen = {"bytes": 0}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [*message.get("headers", []), *SECURITY_HEADERS, (b"x-request-id", request_id.encode())]
                if not scope["path"].startswith(_DOCS):
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            status["code"] = 413
            await self._too_large(send, seen["bytes"])
        finally:
            self._record(scope, status["code"], started, request_id)

    async def _too_large(self, send: Send, size: int) -> None:
        body = json.dumps({"detail": f"request body of {size} bytes is over the limit of {self.max_body_bytes} bytes "
                                     "(TRIAGE_MAX_BODY_BYTES); split it into smaller requests"}).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                *SECURITY_HEADERS]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(scope["method"], template, str(status)).observe(seconds)
        state: dict[str, Any] = scope.get("state") or {}
        access_log.info(
            "request",
            extra={"method": scope["method"], "route": template, "status": status, "ms": round(seconds * 1000, 2),
                   "request_id": request_id, "key_id": state.get("key_id")},
        )  # fmt: skip
