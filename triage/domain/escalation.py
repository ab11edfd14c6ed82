"""Multi-level escalation: rules over an SLA clock, evaluated as often as you like, each firing once per cycle.

Typical levels (see ``config/sla.toml``): warn the assignee at 75 % of the target, escalate to the team
lead on breach, to the director a configurable delay after the breach, and "not accepted within 2 h".
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from triage.domain.sla import SlaClock
from triage.kernel.clock import require_aware


@dataclass(frozen=True)
class EscalationRule:
    """One level of escalation.

    It fires once per SLA cycle when the metric's elapsed business time reaches
    ``at_fraction × target + after``. For ``acceptance`` there is no SLA target, so only ``after`` counts
    ("a ticket not accepted within 2 h escalates" is ``metric="acceptance", after=2h``).
    """

    name: str
    metric: str
    notify: str  # "assignee" | "team_lead" | "director"
    at_fraction: float = 1.0
    after: timedelta = timedelta(0)

    def threshold(self, target: timedelta | None) -> timedelta | None:
        """Elapsed business time at which the rule fires, or ``None`` when the metric has no target."""
        if self.metric == "acceptance":
            return self.after
        if target is None:
            return None
        return target * self.at_fraction + self.after


@dataclass(frozen=True)
class EscalationEvent:
    """An escalation that fired: who to notify, about what, and when."""

    ticket_id: str
    rule: str
    metric: str
    notify: str
    cycle: int
    threshold_at: datetime  # when the threshold was reached
    fired_at: datetime  # when it was evaluated and emitted (inside business hours unless 24x7)
    recipient: str | None = None


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
    fired: set[tuple[int, str]] = field(default_factory=set, repr=False)  # (cycle, rule) already fired
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
                if key in self.fired or rule.metric in cycle.stopped:
                    continue
                threshold = rule.threshold(clock.target.for_metric(rule.metric))
                if threshold is None or clock.elapsed(now, rule.metric) < threshold:
                    continue
                self.fired.add(key)
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

    def next_due(self) -> datetime | None:
        """When the next rule of the current cycle reaches its threshold; ``None`` when none is left to fire or
        the clock is paused short of every remaining threshold. (It fires at the first evaluation from then on
        while the calendar is open.)"""
        cycle = self.clock.cycle
        instants = []
        for rule in self.rules:
            if (cycle.number, rule.name) in self.fired or rule.metric in cycle.stopped:
                continue
            threshold = rule.threshold(self.clock.target.for_metric(rule.metric))
            at = self.clock.instant_of(threshold) if threshold is not None else None
            if at is not None:
                instants.append(at)
        return min(instants, default=None)

    def _threshold_instant(self, threshold: timedelta, now: datetime) -> datetime:
        """When the cycle's counted time reached ``threshold`` (``now`` if it cannot be placed)."""
        return self.clock.instant_of(threshold) or now
