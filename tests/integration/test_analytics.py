"""Analytics computed by the database match an independent pandas computation on a seeded synthetic month."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.conftest import service_settings
from triage.adapters.bootstrap import build_service
from triage.domain.access import Principal
from triage.domain.ticket import Customer, Ticket
from triage.kernel.errors import InvalidRequest, PermissionDenied
from triage.kernel.vocabulary import Channel, Priority, Role, TicketStatus
from triage.ports import AnalyticsFilter
from triage.services.analytics import report

pytestmark = pytest.mark.integration

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 3, tzinfo=UTC)
TEAMS = {"repair/network": "tech", "repair/hardware": "tech", "billing/refund": "billing", "inquiry/product": "care"}
AGENTS = {"tech": ["wang.lei", "tom.baker"], "billing": ["liu.yang"], "care": ["sarah.jones"]}


def _synthetic_month(seed: int = 7) -> list[Ticket]:
    rng = random.Random(seed)
    tickets = []
    for i in range(600):
        created = START - timedelta(days=5) + timedelta(minutes=rng.randrange(0, 36 * 24 * 60))
        category = rng.choice(list(TEAMS))
        team = TEAMS[category]
        status = rng.choices(list(TicketStatus), weights=[1, 2, 2, 1, 4, 4])[0]
        done = status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        replied = status is not TicketStatus.NEW and rng.random() < 0.9
        frt = rng.expovariate(1 / 3600) if replied else None
        handling = (frt or 0) + rng.expovariate(1 / 36000) if done else None
        resolved_at = created + timedelta(seconds=handling) if done and handling else None
        tickets.append(Ticket(
            id="", subject=f"s{i}", body="b", customer=Customer(f"C{i % 50}"), channel=rng.choice(list(Channel)),
            created_at=created, updated_at=created, status=status, category=category,
            priority=rng.choice(list(Priority)), team=team,
            assignee=rng.choice(AGENTS[team]) if status is not TicketStatus.NEW else None,
            first_response_s=frt, first_response_business_s=frt * 0.4 if frt else None,
            handling_s=handling, handling_business_s=handling * 0.3 if handling else None,
            resolved_at=resolved_at, sla_breached=(rng.random() < 0.2) if done else None,
            reopen_count=rng.choice([0, 0, 0, 1]) if done else 0, agent_replies=rng.choice([0, 1, 1, 2, 3]),
            csat=rng.choice([None, 3, 4, 5, 1]) if done else None,
        ))  # fmt: skip
    return tickets


def _rank(values: pd.Series, p: int) -> float | None:
    ordered = sorted(values.dropna())
    return float(ordered[math.ceil(p / 100 * len(ordered)) - 1]) if ordered else None


@pytest.fixture
def seeded(database_url: str, tmp_path: Path, always_on_config: Path):  # noqa: ANN201
    service = build_service(service_settings(tmp_path, database_url, always_on_config))
    tickets = _synthetic_month()
    with service.start() as uow:
        for ticket in tickets:
            uow.tickets.add(ticket)
        uow.commit()
    frame = pd.DataFrame([{**t.__dict__, "channel": t.channel.value, "status": t.status.value,
                           "priority": t.priority.value if t.priority else None} for t in tickets])  # fmt: skip
    yield service, frame
    service.stop()


def test_the_figures_match_pandas(seeded) -> None:  # noqa: ANN001
    service, frame = seeded
    got = report(service.read, Principal("k", Role.ADMIN), AnalyticsFilter(start=START, end=END), now=NOW)
    month = frame[(frame.created_at >= START) & (frame.created_at < END)]
    done = month[month.status.isin(["resolved", "closed"])]
    assert got["tickets"] == len(month) and got["resolved"] == len(done)
    for p in (50, 90):
        assert got["first_response"]["calendar_s"][f"p{p}"] == pytest.approx(_rank(month.first_response_s, p))
        assert got["first_response"]["business_s"][f"p{p}"] == pytest.approx(_rank(month.first_response_business_s, p))
        assert got["handling"]["calendar_s"][f"p{p}"] == pytest.approx(_rank(month.handling_s, p))
    fcr = ((done.reopen_count == 0) & (done.agent_replies <= 1)).sum() / len(done)
    assert got["first_contact_resolution"] == pytest.approx(round(fcr, 4))
    assert got["reopen_rate"] == pytest.approx(round((done.reopen_count > 0).sum() / len(done), 4))
    assert got["csat"]["mean"] == pytest.approx(round(month.csat.dropna().mean(), 3))
    assert got["csat"]["responses"] == month.csat.notna().sum()
    measured = month[month.sla_breached.notna()]
    for row in got["sla_attainment"]["by_priority"]:
        part = measured[measured.priority == row["priority"]]
        assert row["resolved"] == len(part) and row["attainment"] == pytest.approx(round((~part.sla_breached.astype(bool)).mean(), 4))
    for row in got["backlog"]:
        day_end = datetime.fromisoformat(row["day"]).replace(tzinfo=UTC) + timedelta(days=1)
        expected = ((frame.created_at < day_end) & (frame.resolved_at.isna() | (frame.resolved_at >= day_end))).sum()
        assert row["open"] == expected, row["day"]
    open_now = month[~month.status.isin(["resolved", "closed"])]
    ages = (NOW - open_now.created_at).dt.total_seconds()
    assert got["open_tickets"]["open"] == len(open_now)
    assert got["open_tickets"]["p50_age_s"] == pytest.approx(_rank(ages, 50))
    for agent in got["agents"]:
        mine = month[month.assignee == agent["agent"]]
        assert agent["assigned"] == len(mine)
        assert agent["first_response_p50_s"] == pytest.approx(_rank(mine.first_response_s, 50))
    heat = got["hot_topics"]
    by_day = month.groupby(["category", month.created_at.dt.strftime("%Y-%m-%d")]).size()
    for i, category in enumerate(heat["categories"]):
        for j, day in enumerate(heat["days"]):
            assert heat["by_day"][i][j] == by_day.get((category, day), 0)
        by_hour = month[month.category == category].groupby(month.created_at.dt.hour).size()
        assert heat["by_hour"][i] == [int(by_hour.get(h, 0)) for h in range(24)]


def test_filters_and_scope(seeded) -> None:  # noqa: ANN001
    service, frame = seeded
    month = frame[(frame.created_at >= START) & (frame.created_at < END)]
    manager = Principal("k", Role.MANAGER, teams=frozenset({"tech"}))
    mine = report(service.read, manager, AnalyticsFilter(start=START, end=END), now=NOW)
    assert mine["tickets"] == (month.team == "tech").sum()
    repair = report(service.read, Principal("k", Role.ADMIN), AnalyticsFilter(start=START, end=END, category="repair"), now=NOW)
    assert repair["tickets"] == month.category.str.startswith("repair/").sum()
    email = report(service.read, Principal("k", Role.ADMIN), AnalyticsFilter(start=START, end=END, channel=Channel.EMAIL), now=NOW)
    assert email["tickets"] == (month.channel == "email").sum()
    with pytest.raises(InvalidRequest, match="invalid date range"):
        report(service.read, manager, AnalyticsFilter(start=END, end=START), now=NOW)
    with pytest.raises(PermissionDenied):
        report(service.read, Principal("k", Role.INTAKE), AnalyticsFilter(start=START, end=END), now=NOW)
