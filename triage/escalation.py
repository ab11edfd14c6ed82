"""Multi-level escalation: rules over an SLA clock, evaluated as often as you like, each firing once per cycle.

Typical levels (see ``config/sla.toml``): warn the assignee at 75 % of the target, escalate to the team
lead on breach, to the director a configurable delay after the breach, and "not accepted within 2 h".
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from triage.domain import EscalationEvent, EscalationRule, require_aware
from triage.sla import SlaClock

DEFAULT_RULES: tuple[EscalationRule, ...] = (
    EscalationRule(name="warn-assignee", metric="resolution", notify="assignee", at_fraction=0.75),
    EscalationRule(name="breach-team-lead", metric="resolution", notify="team_lead", at_fraction=1.0),
)


@dataclass
class Escalator:
    """Escalation state of one ticket.

    ``evaluate(now)`` returns only the events that are new; the full history stays in ``history``.
    Thread-safe, so a scheduler and a request handler may evaluate the same ticket concurrently.

    Args:
        clock: The ticket's SLA clock.
        rules: Escalation levels, in any order.
        recipients: Who ``assignee``/``team_lead``/``director`` are for this ticket (ids), if known.

    Example:
        >>> esc = Escalator(clock=clock, rules=DEFAULT_RULES)
        >>> new_events = esc.evaluate(now)
    """

    clock: SlaClock
    rules: Sequence[EscalationRule] = DEFAULT_RULES
    recipients: dict[str, str | None] = field(default_factory=dict)
    history: list[EscalationEvent] = field(default_factory=list)
    _fired: set[tuple[int, str]] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def evaluate(self, now: datetime) -> list[EscalationEvent]:
        """Fire every rule whose threshold was reached and that has not fired in this cycle.

        Outside business hours nothing fires (unless the calendar is 24×7); the pending rules fire on the
        first evaluation after the calendar opens. A metric that already stopped (ticket accepted,
        answered or resolved) fires nothing.

        Args:
            now: Aware evaluation instant.

        Returns:
            The new events, in threshold order.
        """
        require_aware(now, "now")
        clock = self.clock
        if not clock.calendar.is_open(now):
            return []
        cycle = clock.cycle
        new: list[EscalationEvent] = []
        with self._lock:
            for rule in self.rules:
                key = (cycle.number, rule.name)
                if key in self._fired or rule.metric in cycle.stopped:
                    continue
                threshold = rule.threshold(clock.target.for_metric(rule.metric))
                if threshold is None or clock.elapsed(now, rule.metric) < threshold:
                    continue
                self._fired.add(key)
                new.append(
                    EscalationEvent(
                        ticket_id=clock.ticket_id,
                        rule=rule.name,
                        metric=rule.metric,
                        notify=rule.notify,
                        cycle=cycle.number,
                        threshold_at=self._threshold_instant(threshold, now),
                        fired_at=now,
                        recipient=self.recipients.get(rule.notify),
                    )
                )
            new.sort(key=lambda e: e.threshold_at)
            self.history.extend(new)
        return new

    def _threshold_instant(self, threshold: timedelta, now: datetime) -> datetime:
        """When the cycle's counted time reached ``threshold`` (``now`` if it cannot be placed)."""
        return self.clock.instant_of(threshold) or now
