"""Alerts: listed with filters, acknowledged, and streamed live as Server-Sent Events (with Last-Event-ID resume)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import MAX_ROW_ID, Instant, PrincipalDep, RowId, ServiceDep
from api.errors import COMMON_ERRORS, NOT_FOUND
from api.schemas import AlertPublic, alert_public
from triage.adapters.bootstrap import Service
from triage.domain.access import Principal
from triage.domain.alerts import AlertType, Severity
from triage.kernel.clock import utc_now
from triage.ports import AlertFilter
from triage.services import alerts
from triage.services.alerts import event_body

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=COMMON_ERRORS)

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
#: A stream ends after this long; EventSource clients reconnect with Last-Event-ID and miss nothing. It keeps a
#: server's graceful shutdown from waiting on streams that never end.
STREAM_SECONDS = 300.0
#: How often a stream re-checks that its caller may still listen (the console's session).
RECHECK_SECONDS = 5.0


@router.get("", response_model=list[AlertPublic])
def list_alerts(
    service: ServiceDep,
    principal: PrincipalDep,
    type_: Annotated[AlertType | None, Query(alias="type")] = None,
    severity: Severity | None = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    ticket: Annotated[str | None, Query(max_length=32)] = None,
    acknowledged: bool | None = None,
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Instant | None = None,
    order: Annotated[str, Query(pattern="^(severity|time)$")] = "severity",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertPublic]:
    """Alerts of the caller's teams (all for admins); `order=severity` puts critical (angry VIPs) first."""
    filters = AlertFilter(type=type_, severity=severity, team=team, number=ticket, acknowledged=acknowledged,
                          since=from_, until=to)  # fmt: skip
    found = alerts.list_alerts(service.read, principal, filters, limit=limit)
    found = alerts.most_severe_first(found) if order == "severity" else sorted(found, key=lambda a: -(a.id or 0))
    return [alert_public(a) for a in found]


@router.post("/{alert_id}/ack", response_model=AlertPublic, responses=NOT_FOUND)
def acknowledge(alert_id: RowId, service: ServiceDep, principal: PrincipalDep) -> AlertPublic:
    """Acknowledge an alert (idempotent)."""
    return alert_public(alerts.acknowledge(service.start, principal, alert_id, now=utc_now()))


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "Server-Sent Events: `id: <alert id>`, `event: <type>`, `data: <JSON with the "
                                    "ticket number>`. Reconnect with `Last-Event-ID` to resume."}},
)  # fmt: skip
async def stream(
    request: Request,
    service: ServiceDep,
    principal: PrincipalDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=18, pattern=r"^\d*$")] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_ROW_ID, description="Resume after this alert id (as Last-Event-ID).")] = None,
) -> StreamingResponse:
    """Alerts as they happen: the caller's teams' alerts (all for admins), resumable."""
    start_after = after if after is not None else int(last_event_id) if last_event_id else None
    return await alert_stream(request, service, principal, start_after)


async def alert_stream(
    request: Request,
    service: Service,
    principal: Principal,
    start_after: int | None,
    *,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
) -> StreamingResponse:
    """The SSE response of ``principal``'s alerts after ``start_after`` (``None``: from now on). The console's live
    alerts use it too, with the session's principal; ``still_allowed`` (checked every few seconds) ends the stream
    when the session does."""
    if start_after is None:  # a new subscriber starts from now, not from the whole history
        start_after = await run_in_threadpool(alerts.latest_alert_id, service.read, principal)

    async def events() -> AsyncIterator[str]:
        last = start_after
        idle = 0.0
        ends = asyncio.get_running_loop().time() + STREAM_SECONDS
        yield "retry: 2000\n\n"
        checked = asyncio.get_running_loop().time()
        while not await request.is_disconnected() and asyncio.get_running_loop().time() < ends:
            if still_allowed is not None and asyncio.get_running_loop().time() - checked >= RECHECK_SECONDS:
                checked = asyncio.get_running_loop().time()
                if not await still_allowed():
                    return
            fresh = await run_in_threadpool(alerts.list_alerts, service.read, principal, AlertFilter(), after_id=last)
            for alert in fresh:
                last = max(last, alert.id or 0)
                yield f"id: {alert.id}\nevent: {alert.type.value}\ndata: {event_body(alert)}\n\n"
            idle = 0.0 if fresh else idle + POLL_SECONDS
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield f": keepalive {json.dumps(utc_now().isoformat())}\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})  # fmt: skip
