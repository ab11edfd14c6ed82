"""Help-desk analytics for a date range, per team, channel, category and priority, in calendar and business time.

First response and handling time (p50, p90), SLA attainment per priority and team, first-contact resolution,
reopen rate, CSAT, backlog over time, the age of open tickets, agent ranking, and hot topics by day and hour
(ready to draw as a heat map). Everything is aggregated by the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from triage.domain.access import Principal, require_role
from triage.kernel.errors import InvalidRequest
from triage.kernel.vocabulary import Role
from triage.ports import AnalyticsFilter, UnitOfWork

MAX_RANGE = timedelta(days=366)


def scoped(principal: Principal, filters: AnalyticsFilter) -> AnalyticsFilter:
    """The filters narrowed to what the caller may see (managers and agents: their teams).

    Raises:
        InvalidRequest: an empty or inverted range, or one longer than a year.
        PermissionDenied: an intake key.
    """
    require_role(principal, Role.AGENT, Role.MANAGER, Role.ADMIN, action="read analytics")
    if filters.start.tzinfo is None or filters.end.tzinfo is None:
        raise InvalidRequest("from/to need a time zone (e.g. 2026-11-01T00:00:00Z)")
    if filters.end <= filters.start:
        raise InvalidRequest(f"invalid date range: to ({filters.end.isoformat()}) is not after from ({filters.start.isoformat()})")
    if filters.end - filters.start > MAX_RANGE:
        raise InvalidRequest("the date range is longer than a year; ask for a shorter one")
    if principal.role is Role.ADMIN:
        return filters
    return replace(filters, teams=principal.teams)


def report(start: Callable[[], UnitOfWork], principal: Principal, filters: AnalyticsFilter, *, now: datetime) -> dict[str, Any]:
    """Every figure for the slice, as JSON-ready data."""
    filters = scoped(principal, filters)
    with start() as uow:
        q = uow.analytics
        summary = q.summary(filters)
        return {
            "range": {"from": filters.start.isoformat(), "to": filters.end.isoformat()},
            "filters": {"team": filters.team, "channel": filters.channel, "category": filters.category,
                        "priority": filters.priority},
            **summary,
            "first_response": {
                "calendar_s": q.percentiles("first_response_s", filters).get(None, {}),
                "business_s": q.percentiles("first_response_business_s", filters).get(None, {}),
            },
            "handling": {
                "calendar_s": q.percentiles("handling_s", filters).get(None, {}),
                "business_s": q.percentiles("handling_business_s", filters).get(None, {}),
            },
            "sla_attainment": {"by_priority": q.sla_attainment(filters, "priority"),
                               "by_team": q.sla_attainment(filters, "team")},
            "backlog": q.backlog(filters),
            "open_tickets": q.open_age(filters, now=now),
            "agents": q.agents(filters),
            "hot_topics": q.hot_topics(filters),
        }  # fmt: skip
