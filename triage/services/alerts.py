"""Raising, listing and acknowledging alerts. Raising one also queues its webhook deliveries in the same
transaction (a transactional outbox): an alert is never stored without its deliveries, nor delivered without
being stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from triage.domain.access import Principal, require_role
from triage.domain.alerts import Alert, AlertType
from triage.kernel.errors import NotFound
from triage.kernel.vocabulary import Role
from triage.ports import AlertFilter, UnitOfWork

Start = Callable[[], UnitOfWork]
#: An angry-customer alert is not raised again for the same ticket within this time (unless anger rises more).
REPEAT_QUIET = timedelta(hours=6)


def event_body(alert: Alert) -> str:
    """The JSON every webhook receives for ``alert`` (also the SSE ``data``): ``event``, ``id`` and ``ticket``."""
    return json.dumps(
        {
            "event": alert.type.value,
            "id": str(alert.id),
            "created_at": alert.created_at.isoformat(),
            "severity": alert.severity.value,
            "reason": alert.reason,
            "ticket": {"number": alert.number, "team": alert.team, "tier": alert.tier.value},
            "related": list(alert.related),
            "details": alert.details,
        },
        ensure_ascii=False,
        default=str,
        separators=(",", ":"),
    )


def raise_alert(uow: UnitOfWork, alert: Alert) -> Alert:
    """Store ``alert`` and queue a delivery for every active webhook that subscribed to its type (no commit)."""
    stored = uow.alerts.add(alert)
    body = event_body(stored)
    for webhook in uow.webhooks.all():
        if webhook.active and stored.type in webhook.events:
            uow.webhooks.enqueue(webhook.id, stored.id or 0, stored.type.value, body, at=stored.created_at)
    return stored


def _visible_teams(principal: Principal) -> frozenset[str] | None:
    require_role(principal, Role.AGENT, Role.MANAGER, Role.ADMIN, action="read alerts")
    return None if principal.role is Role.ADMIN else principal.teams


def list_alerts(
    start: Start, principal: Principal, filters: AlertFilter, *, after_id: int = 0, limit: int = 100
) -> list[Alert]:
    """Alerts the caller may see (managers and agents: their teams' alerts; admins: all), oldest first."""
    teams = _visible_teams(principal)
    with start() as uow:
        return uow.alerts.list(filters, teams=teams, after_id=after_id, limit=limit)


def latest_alert_id(start: Start, principal: Principal) -> int:
    """Where a new live subscriber starts (it sees what happens from now on)."""
    _visible_teams(principal)
    with start() as uow:
        return uow.alerts.latest_id()


def most_severe_first(alerts: list[Alert]) -> list[Alert]:
    """Critical first (angry VIPs), then by recency."""
    return sorted(alerts, key=lambda a: (a.severity.rank, -(a.id or 0)))


def acknowledge(start: Start, principal: Principal, alert_id: int, *, now: datetime) -> Alert:
    """Acknowledge an alert the caller may see (idempotent).

    Raises:
        NotFound: no such alert, or another team's.
    """
    teams = _visible_teams(principal)
    with start() as uow:
        alert = uow.alerts.get(alert_id)
        if alert is None or (teams is not None and alert.team not in teams):
            raise NotFound(f"no alert {alert_id}")
        uow.alerts.acknowledge(alert_id, by=principal.label, at=now)
        uow.commit()
        found = uow.alerts.get(alert_id)
    assert found is not None
    return found


def is_quiet(uow: UnitOfWork, alert_type: AlertType, number: str | None, *, now: datetime) -> bool:
    """Whether an alert of this type was raised for this ticket recently (so it should not be raised again)."""
    return uow.alerts.exists(alert_type, number=number, since=now - REPEAT_QUIET)
