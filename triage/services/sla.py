"""SLA clocks of stored tickets, and the escalation sweep that fires each level once.

Each clock is stored with the instant its next escalation level is due (``next_check_at``), so the sweep reads
only the clocks that need it. Several workers may sweep at once (rows are claimed with ``SKIP LOCKED`` on
PostgreSQL); a level is stored with a unique ``(ticket, cycle, rule)`` row, so it fires once even then, and after
restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from triage.domain.alerts import Alert, escalation_alert
from triage.domain.desk import RoutingConfig
from triage.domain.escalation import EscalationEvent, Escalator
from triage.domain.sla import SlaClock
from triage.domain.ticket import Ticket
from triage.ports import UnitOfWork
from triage.services.alerts import raise_alert
from triage.services.audit import SYSTEM, record

#: A level whose threshold passed while it could not fire (calendar closed) is looked at again this often, at least.
RECHECK = timedelta(minutes=1)


def start_clock(uow: UnitOfWork, desk: RoutingConfig, ticket: Ticket, *, now: datetime) -> SlaClock:
    """Start (or restart, after a re-prioritisation) the clock of ``ticket`` from its creation."""
    clock = desk.clock_for(ticket)
    save_clock(uow, desk, ticket, clock, fired=frozenset(), now=now)
    return clock


def load_clock(uow: UnitOfWork, desk: RoutingConfig, ticket: Ticket) -> tuple[SlaClock, frozenset[tuple[int, str]]] | None:
    """The stored clock of ``ticket`` and the levels it fired, or ``None`` before triage started one."""
    stored = uow.sla.get(ticket.id, desk.calendars)
    return (stored.clock, stored.fired) if stored else None


def save_clock(
    uow: UnitOfWork,
    desk: RoutingConfig,
    ticket: Ticket,
    clock: SlaClock,
    *,
    fired: frozenset[tuple[int, str]],
    now: datetime,
) -> None:
    """Store the clock with the instant its next escalation level is due."""
    escalator = Escalator(clock=clock, rules=desk.escalation, recipients=desk.recipients(ticket), fired=set(fired))
    uow.sla.put(ticket.id, clock, next_check_at=_next_check(escalator, now), now=now)


def update_clock(
    uow: UnitOfWork, desk: RoutingConfig, ticket: Ticket, change: Callable[[SlaClock], object], *, now: datetime
) -> SlaClock | None:
    """Apply ``change`` (``clock.pause``, ``clock.respond``, ...) to the stored clock, save it and return it."""
    loaded = load_clock(uow, desk, ticket)
    if loaded is None:
        return None
    clock, fired = loaded
    change(clock)
    save_clock(uow, desk, ticket, clock, fired=fired, now=now)
    return clock


def _next_check(escalator: Escalator, now: datetime) -> datetime | None:
    due = escalator.next_due()
    if due is None or due > now:
        return due
    calendar = escalator.clock.calendar
    return max(calendar.next_open(now), now + RECHECK) if not calendar.is_open(now) else now + RECHECK


def sweep(
    start: Callable[[], UnitOfWork],
    desk: RoutingConfig,
    *,
    now: datetime,
    limit: int = 200,
    on_alerts: Callable[[list[Alert]], None] = lambda alerts: None,
) -> list[EscalationEvent]:
    """Fire every escalation level that is due, once, with its alert; returns the events fired by this call."""
    fired_now: list[EscalationEvent] = []
    raised: list[Alert] = []
    with start() as uow:
        for number in uow.sla.due(now, limit=limit):
            ticket = uow.tickets.get(number)
            loaded = load_clock(uow, desk, ticket) if ticket else None
            if ticket is None or loaded is None:
                continue
            clock, fired = loaded
            escalator = Escalator(clock=clock, rules=desk.escalation, recipients=desk.recipients(ticket), fired=set(fired))
            rules = {rule.name: rule for rule in desk.escalation}
            for event in escalator.evaluate(now):
                if uow.sla.record_escalation(event):
                    fired_now.append(event)
                    raised.append(raise_alert(uow, escalation_alert(event, rules[event.rule], team=ticket.team,
                                                                    tier=ticket.tier)))  # fmt: skip
                    record(uow, actor=SYSTEM, action="escalated", at=now, ticket=ticket,
                           after={"rule": event.rule, "metric": event.metric, "notify": event.notify,
                                  "recipient": event.recipient, "cycle": event.cycle})  # fmt: skip
            uow.sla.put(number, clock, next_check_at=_next_check(escalator, now), now=now)
        uow.commit()
    if raised:
        on_alerts(raised)
    return fired_now
