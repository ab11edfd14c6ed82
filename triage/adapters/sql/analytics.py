"""Help-desk analytics in SQL, the same on SQLite and PostgreSQL: aggregates come out of the database, tickets do not.

Percentiles use the nearest-rank definition (the value at rank ``ceil(p * n)``), computed with window functions,
which both databases have. Durations were stored as seconds when they happened (calendar and business time), so
no calendar arithmetic is needed here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, or_, select

from triage.adapters.sql import tables as t
from triage.ports import AnalyticsFilter, AnalyticsQueries

c = t.tickets.c
CLOSED = ("resolved", "closed")


def _where(filters: AnalyticsFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [c.created_at >= filters.start, c.created_at < filters.end]
    if filters.team is not None:
        conditions.append(c.team == filters.team)
    if filters.teams is not None:
        conditions.append(c.team.in_(sorted(filters.teams)))
    if filters.channel is not None:
        conditions.append(c.channel == str(filters.channel))
    if filters.category is not None:
        conditions.append(or_(c.category == filters.category, c.category.like(f"{filters.category}/%")))
    if filters.priority is not None:
        conditions.append(c.priority == str(filters.priority))
    return conditions


def _day(column: Any) -> Any:
    return func.date(column)  # SQLite: 'YYYY-MM-DD' text; PostgreSQL: a date


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class SqlAnalytics(AnalyticsQueries):
    """The analytics queries on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def percentiles(self, column: str, filters: AnalyticsFilter, *, group_by: str | None = None,
                    ps: tuple[int, ...] = (50, 90)) -> dict[Any, dict[str, float | None]]:  # fmt: skip
        """Nearest-rank percentiles of a numeric ticket column, overall (key ``None``) or per ``group_by`` value."""
        value = getattr(c, column)
        key = getattr(c, group_by) if group_by else literal("all")
        conditions = [*_where(filters), value.is_not(None)]
        ranked = (
            select(key.label("k"), value.label("v"),
                   func.row_number().over(partition_by=key, order_by=value).label("rn"),
                   func.count().over(partition_by=key).label("n"))
            .where(and_(*conditions)).subquery()
        )  # fmt: skip
        out: dict[Any, dict[str, float | None]] = defaultdict(dict)
        for p in ps:
            rank = (ranked.c.n * p + 99) // 100  # floor division: ceil(p% of n), the nearest rank
            for row in self.connection.execute(select(ranked.c.k, ranked.c.v).where(ranked.c.rn == rank)).all():
                out[None if group_by is None else row.k][f"p{p}"] = float(row.v)
        return dict(out)

    def summary(self, filters: AnalyticsFilter) -> dict[str, Any]:
        resolved = c.status.in_(CLOSED)
        row = self.connection.execute(
            select(
                func.count().label("tickets"),
                func.sum(case((resolved, 1), else_=0)).label("resolved"),
                func.sum(case((and_(resolved, c.reopen_count == 0, c.agent_replies <= 1), 1), else_=0)).label("fcr"),
                func.sum(case((and_(resolved, c.reopen_count > 0), 1), else_=0)).label("reopened"),
                func.avg(c.csat).label("csat"),
                func.count(c.csat).label("csat_n"),
            ).where(and_(*_where(filters)))
        ).one()  # fmt: skip
        done = int(row.resolved or 0)
        return {
            "tickets": int(row.tickets or 0),
            "resolved": done,
            "first_contact_resolution": _share(row.fcr, done),
            "reopen_rate": _share(row.reopened, done),
            "csat": {"mean": round(float(row.csat), 3) if row.csat is not None else None, "responses": int(row.csat_n)},
        }

    def sla_attainment(self, filters: AnalyticsFilter, by: str) -> list[dict[str, Any]]:
        column = getattr(c, by)
        rows = self.connection.execute(
            select(column.label("key"), func.count().label("n"),
                   func.sum(case((c.sla_breached.is_(False), 1), else_=0)).label("met"))
            .where(and_(*_where(filters), c.sla_breached.is_not(None))).group_by(column).order_by(column)
        ).all()  # fmt: skip
        return [{by: r.key, "resolved": int(r.n), "met": int(r.met or 0), "attainment": _share(r.met, r.n)} for r in rows]

    def backlog(self, filters: AnalyticsFilter) -> list[dict[str, Any]]:
        """Open tickets at the end of each day of the range (created by then, not resolved by then)."""
        scope = _where(filters)[2:]  # every filter but the date range
        before = self.connection.execute(
            select(func.count()).where(and_(*scope, c.created_at < filters.start,
                                            or_(c.resolved_at.is_(None), c.resolved_at >= filters.start)))
        ).scalar_one()  # fmt: skip
        created = dict(self.connection.execute(
            select(_day(c.created_at), func.count()).where(and_(*scope, c.created_at >= filters.start,
                                                                c.created_at < filters.end)).group_by(_day(c.created_at))
        ).all())  # fmt: skip
        resolved = dict(self.connection.execute(
            select(_day(c.resolved_at), func.count()).where(and_(*scope, c.resolved_at >= filters.start,
                                                                 c.resolved_at < filters.end, c.status.in_(CLOSED)))
            .group_by(_day(c.resolved_at))
        ).all())  # fmt: skip
        created = {_as_date(k): int(v) for k, v in created.items()}
        resolved = {_as_date(k): int(v) for k, v in resolved.items()}
        series, open_now = [], int(before)
        day = filters.start.date()
        while datetime.combine(day, datetime.min.time(), tzinfo=filters.start.tzinfo) < filters.end:
            open_now += created.get(day, 0) - resolved.get(day, 0)
            series.append({"day": day.isoformat(), "created": created.get(day, 0), "resolved": resolved.get(day, 0),
                           "open": open_now})  # fmt: skip
            day += timedelta(days=1)
        return series

    def open_age(self, filters: AnalyticsFilter, *, now: datetime) -> dict[str, Any]:
        """Age of the tickets still open, from the ages' percentiles over the open tickets created in the range."""
        open_filter = c.status.not_in(CLOSED)
        ranked = (
            select(c.created_at.label("v"), func.row_number().over(order_by=c.created_at.desc()).label("rn"),
                   func.count().over().label("n"))
            .where(and_(*_where(filters), open_filter)).subquery()
        )  # fmt: skip
        out: dict[str, Any] = {"open": self.connection.execute(select(func.count()).where(and_(*_where(filters), open_filter))).scalar_one()}
        for p in (50, 90):
            row = self.connection.execute(select(ranked.c.v).where(ranked.c.rn == (ranked.c.n * p + 99) // 100)).first()
            created = t.UtcDateTime().process_result_value(row.v, self.connection.dialect) if row else None
            out[f"p{p}_age_s"] = (now - created).total_seconds() if created else None
        return out

    def agents(self, filters: AnalyticsFilter) -> list[dict[str, Any]]:
        resolved = c.status.in_(CLOSED)
        rows = self.connection.execute(
            select(c.assignee.label("agent"), func.count().label("assigned"),
                   func.sum(case((resolved, 1), else_=0)).label("resolved"),
                   func.avg(c.csat).label("csat"),
                   func.sum(case((c.sla_breached.is_(False), 1), else_=0)).label("met"),
                   func.count(c.sla_breached).label("measured"))
            .where(and_(*_where(filters), c.assignee.is_not(None))).group_by(c.assignee)
        ).all()  # fmt: skip
        frt = self.percentiles("first_response_s", filters, group_by="assignee", ps=(50,))
        ranking = [
            {"agent": r.agent, "assigned": int(r.assigned), "resolved": int(r.resolved or 0),
             "first_response_p50_s": frt.get(r.agent, {}).get("p50"),
             "csat": round(float(r.csat), 3) if r.csat is not None else None,
             "sla_attainment": _share(r.met, r.measured)}
            for r in rows
        ]  # fmt: skip
        return sorted(ranking, key=lambda a: (-a["resolved"], a["agent"]))

    def hot_topics(self, filters: AnalyticsFilter) -> dict[str, Any]:
        category = func.coalesce(c.category, literal("(unclassified)"))
        by_day = self.connection.execute(
            select(category.label("cat"), _day(c.created_at).label("day"), func.count().label("n"))
            .where(and_(*_where(filters))).group_by(category, _day(c.created_at))
        ).all()  # fmt: skip
        hour = func.extract("hour", c.created_at)
        by_hour = self.connection.execute(
            select(category.label("cat"), hour.label("hour"), func.count().label("n"))
            .where(and_(*_where(filters))).group_by(category, hour)
        ).all()  # fmt: skip
        categories = sorted({r.cat for r in by_day})
        days = []
        day = filters.start.date()
        while datetime.combine(day, datetime.min.time(), tzinfo=filters.start.tzinfo) < filters.end:
            days.append(day.isoformat())
            day += timedelta(days=1)
        day_counts = {(r.cat, _as_date(r.day).isoformat()): int(r.n) for r in by_day}
        hour_counts = {(r.cat, int(r.hour)): int(r.n) for r in by_hour}
        totals = {cat: sum(n for (k, _), n in day_counts.items() if k == cat) for cat in categories}
        return {
            "categories": categories,
            "totals": totals,
            "days": days,
            "by_day": [[day_counts.get((cat, d), 0) for d in days] for cat in categories],
            "hours": list(range(24)),
            "by_hour": [[hour_counts.get((cat, h), 0) for h in range(24)] for cat in categories],
        }


def _share(part: Any, whole: Any) -> float | None:
    return round(float(part or 0) / float(whole), 4) if whole else None
