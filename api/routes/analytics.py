"""Analytics over a date range, per team, channel, category and priority (computed by the database)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Instant, PrincipalDep, ServiceDep
from api.errors import COMMON_ERRORS
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import Channel, Priority
from triage.ports import AnalyticsFilter
from triage.services import analytics

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=COMMON_ERRORS)


@router.get("")
def report(
    service: ServiceDep,
    principal: PrincipalDep,
    from_: Annotated[Instant, Query(alias="from", description="Start (inclusive), with a time zone.")],
    to: Annotated[Instant, Query(description="End (exclusive), with a time zone.")],
    team: Annotated[str | None, Query(max_length=100)] = None,
    channel: Channel | None = None,
    category: Annotated[str | None, Query(max_length=200, description="A category and the labels below it.")] = None,
    priority: Priority | None = None,
) -> dict[str, Any]:
    """FRT and handling time (p50/p90, calendar and business), SLA attainment per priority and team, FCR, reopen rate,
    CSAT, backlog per day, open-ticket age, agent ranking and hot topics (category x day and x hour)."""
    filters = AnalyticsFilter(start=from_, end=to, team=team, channel=channel, category=category, priority=priority)
    return analytics.report(service.read, principal, filters, now=utc_now())
