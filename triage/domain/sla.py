"""The SLA clock of one ticket: business-time counting with pauses and reopen cycles.

Definitions follow Zendesk/JSM: the clock counts business time only; it pauses while the ticket waits
on the customer ("pending") and resumes when they reply; a reopened ticket starts a new cycle with fresh
targets. ``breached`` speaks about the current cycle, ``ever_breached`` about all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from triage.domain.calendar import BusinessCalendar
from triage.domain.taxonomy import label_prefixes
from triage.kernel.clock import require_aware

_ZERO = timedelta(0)
#: Metrics an SLA clock tracks; ``acceptance`` has no target but escalation rules can watch it.
METRICS: tuple[str, ...] = ("first_response", "resolution", "acceptance")


@dataclass(frozen=True)
class SlaTarget:
    """First-response and resolution targets, counted on the named business calendar."""

    first_response: timedelta
    resolution: timedelta
    calendar: str = "default"

    def for_metric(self, metric: str) -> timedelta | None:
        if metric == "first_response":
            return self.first_response
        if metric == "resolution":
            return self.resolution
        return None


@dataclass(frozen=True)
class SlaPolicy:
    """Priority × tier matrix of SLA targets, optionally refined per category.

    Keys are ``(priority, tier, category)``; ``category`` ``None`` is the row for every category. A category
    row also covers the labels below it (``billing`` covers ``billing/refund``); the longest one wins.
    """

    targets: Mapping[tuple[str, str, str | None], SlaTarget]

    def target_for(self, *, priority: str, tier: str, category: str | None = None) -> SlaTarget:
        """The most specific target: the longest category row covering ``category``, else the priority × tier row.

        Raises:
            KeyError: If the matrix has no row for ``priority`` × ``tier``.
        """
        for prefix in label_prefixes(category) if category else ():
            specific = self.targets.get((priority, tier, prefix))
            if specific is not None:
                return specific
        try:
            return self.targets[(priority, tier, None)]
        except KeyError:
            raise KeyError(f"no SLA target for priority={priority!r} tier={tier!r}; add it to sla.toml") from None


@dataclass
class SlaCycle:
    """One open→resolved stretch of a ticket. Metrics stop when their event happens."""

    number: int
    started_at: datetime
    banked: timedelta = _ZERO  # business time of closed running segments
    running_since: datetime | None = None
    segments: list[tuple[datetime, datetime]] = field(default_factory=list)  # closed running stretches
    stopped: dict[str, tuple[datetime, timedelta]] = field(default_factory=dict)  # metric -> (when, elapsed)

    def elapsed(self, calendar: BusinessCalendar, now: datetime) -> timedelta:
        """Business time counted in this cycle up to ``now``."""
        if self.running_since is None:
            return self.banked
        return self.banked + calendar.business_time_between(self.running_since, now)


@dataclass
class SlaClock:
    """SLA clock of one ticket.

    Args:
        ticket_id: The ticket it measures.
        target: First-response and resolution targets.
        calendar: Business calendar the targets are counted on.
        started_at: When the first cycle starts (ticket creation).

    Example:
        >>> clock = SlaClock(ticket_id="T1", target=target, calendar=cal, started_at=t0)
        >>> clock.pause(t1); clock.resume(t2); clock.due_at("resolution")
    """

    ticket_id: str
    target: SlaTarget
    calendar: BusinessCalendar
    started_at: datetime
    cycles: list[SlaCycle] = field(default_factory=list)

    def __post_init__(self) -> None:
        require_aware(self.started_at, "started_at")
        if not self.cycles:
            self.cycles.append(SlaCycle(number=1, started_at=self.started_at, running_since=self.started_at))

    # -- state changes -------------------------------------------------------------------------

    @property
    def cycle(self) -> SlaCycle:
        """The current cycle."""
        return self.cycles[-1]

    @property
    def paused(self) -> bool:
        """Whether the clock is stopped while the ticket waits on the customer."""
        return self.cycle.running_since is None and not self.resolved

    @property
    def resolved(self) -> bool:
        """Whether the current cycle is resolved."""
        return "resolution" in self.cycle.stopped

    def pause(self, at: datetime) -> None:
        """The ticket waits on the customer: stop counting (no-op if already paused or resolved)."""
        cycle = self.cycle
        if cycle.running_since is None:
            return
        self._check_order(at)
        cycle.banked += self.calendar.business_time_between(cycle.running_since, at)
        cycle.segments.append((cycle.running_since, at))
        cycle.running_since = None

    def resume(self, at: datetime) -> None:
        """The customer replied: count again (no-op if running or resolved)."""
        self._check_order(at)
        if self.cycle.running_since is None and not self.resolved:
            self.cycle.running_since = at

    def accept(self, at: datetime) -> None:
        """An agent accepted the ticket; stops the ``acceptance`` metric."""
        self._stop("acceptance", at)

    def respond(self, at: datetime) -> None:
        """First public reply; stops the ``first_response`` metric (and acceptance: replying accepts)."""
        self._stop("acceptance", at)
        self._stop("first_response", at)

    def resolve(self, at: datetime) -> None:
        """Ticket solved: stops every metric of this cycle."""
        for metric in ("acceptance", "first_response", "resolution"):
            self._stop(metric, at)
        self.pause(at)

    def reopen(self, at: datetime) -> SlaCycle:
        """Start a new cycle with fresh targets; earlier cycles keep their breaches."""
        self._check_order(at)
        if not self.resolved:
            self.resolve(at)
        cycle = SlaCycle(number=self.cycle.number + 1, started_at=at, running_since=at)
        self.cycles.append(cycle)
        return cycle

    # -- queries -------------------------------------------------------------------------------

    def elapsed(self, now: datetime, metric: str = "resolution") -> timedelta:
        """Business time counted for ``metric`` in the current cycle (frozen once it stopped)."""
        stopped = self.cycle.stopped.get(metric)
        if stopped is not None:
            return stopped[1]
        return self.cycle.elapsed(self.calendar, require_aware(now, "now"))

    def due_at(self, metric: str = "resolution") -> datetime | None:
        """When ``metric`` is (or was) due in the current cycle.

        Returns:
            The instant the elapsed business time reaches the target; it lies in the past when already
            breached. ``None`` when the metric stopped, has no target, or the clock is paused short of it.
        """
        target = self.target.for_metric(metric)
        if target is None or metric in self.cycle.stopped:
            return None
        return self.instant_of(target)

    def instant_of(self, elapsed: timedelta) -> datetime | None:
        """When the current cycle's counted business time reached (or will reach) ``elapsed``.

        ``None`` if the clock is paused before reaching it.
        """
        cycle = self.cycle
        remaining = elapsed
        for start, end in cycle.segments:
            span = self.calendar.business_time_between(start, end)
            if span >= remaining:
                return self.calendar.add_business_time(start, remaining)
            remaining -= span
        if cycle.running_since is None:
            return None
        return self.calendar.add_business_time(cycle.running_since, remaining)

    def breached(self, now: datetime) -> bool:
        """Whether any metric of the current cycle is over target at ``now``."""
        return self._cycle_breached(self.cycle, now)

    def ever_breached(self, now: datetime) -> bool:
        """Whether any cycle, current or past, breached."""
        return any(self._cycle_breached(c, now) for c in self.cycles)

    def metric_breached(self, metric: str, now: datetime) -> bool:
        """Whether ``metric`` is over its target in the current cycle at ``now``."""
        target = self.target.for_metric(metric)
        return target is not None and self.elapsed(now, metric) > target

    # -- internals -----------------------------------------------------------------------------

    def _cycle_breached(self, cycle: SlaCycle, now: datetime) -> bool:
        for metric in ("first_response", "resolution"):
            target = self.target.for_metric(metric)
            assert target is not None
            stopped = cycle.stopped.get(metric)
            elapsed = stopped[1] if stopped else cycle.elapsed(self.calendar, now)
            if elapsed > target:
                return True
        return False

    def _stop(self, metric: str, at: datetime) -> None:
        self._check_order(at)
        if metric not in self.cycle.stopped:
            self.cycle.stopped[metric] = (at, self.cycle.elapsed(self.calendar, at))

    def _check_order(self, at: datetime) -> None:
        require_aware(at, "at")
        cycle = self.cycle
        latest = max([cycle.started_at, *(end for _start, end in cycle.segments)])
        if cycle.running_since is not None:
            latest = max(latest, cycle.running_since)
        if at < latest:
            raise ValueError(
                f"ticket {self.ticket_id}: event at {at.isoformat()} precedes the cycle's latest event "
                f"({latest.isoformat()}); record SLA events in time order"
            )


@dataclass(frozen=True)
class SlaStanding:
    """Where a ticket stands against its SLA right now, as an agent's queue shows it.

    Attributes:
        state: ``breached`` (a target of this cycle passed), ``warning`` (a running target is past ``warn_at`` of
            its business time), ``paused`` (waiting on the customer), ``on_track``, or ``stopped`` (resolved).
        due: The next deadline: the running metric due soonest (in the past when breached); ``None`` when paused
            or stopped.
        metric: The metric of ``due`` (``first_response`` or ``resolution``).
        used: The largest share of a running target's business time already used (1.0 and more: breached).
    """

    state: str
    due: datetime | None
    metric: str | None
    used: float


def standing(clock: SlaClock, now: datetime, *, warn_at: float = 0.75) -> SlaStanding:
    """The :class:`SlaStanding` of ``clock`` at ``now``; ``warn_at`` is the warning share (the first escalation)."""
    if clock.resolved:
        return SlaStanding("stopped", None, None, 0.0)
    due, metric, used = None, None, 0.0
    for name in ("first_response", "resolution"):
        target = clock.target.for_metric(name)
        if target is None or name in clock.cycle.stopped or target <= _ZERO:
            continue
        used = max(used, clock.elapsed(now, name) / target)
        at = clock.due_at(name)
        if at is not None and (due is None or at < due):
            due, metric = at, name
    if clock.breached(now):
        return SlaStanding("breached", due, metric, used)
    if clock.paused:
        return SlaStanding("paused", None, None, used)
    return SlaStanding("warning" if used >= warn_at else "on_track", due, metric, used)
