"""Business calendars: weekly opening hours, holidays and a timezone.

All arithmetic happens on real instants: each local opening window is turned into an aware interval,
so days with a DST change have their true length (a 09:00-17:00 window stays 8 h; a 00:00-24:00
window is 23 h or 25 h on the change day).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from triage.kernel.clock import require_aware

#: Safety net: a calendar that stays closed this long (e.g. a holiday list covering years) is an error.
_MAX_SCAN_DAYS = 3 * 366

Window = tuple[time, time | None]  # end None means midnight (24:00)


@dataclass(frozen=True)
class BusinessCalendar:
    """When the clock runs.

    Args:
        name: Identifier used by SLA targets.
        tz: IANA timezone of the opening hours, e.g. ``Europe/Berlin``.
        weekly: Weekday (0 = Monday) → opening windows ``(start, end)``; ``end`` ``None`` means 24:00.
        holidays: Local dates on which the calendar is closed all day.
        always_open: A 24×7 calendar; weekly hours and holidays are ignored.

    Example:
        >>> cal = BusinessCalendar.weekdays("office", tz="Europe/Berlin", start=time(9), end=time(17))
        >>> cal.add_business_time(datetime(2024, 1, 8, 9, tzinfo=ZoneInfo("Europe/Berlin")), timedelta(hours=16))
    """

    name: str
    tz: str = "UTC"
    weekly: Mapping[int, tuple[Window, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)  # raises ZoneInfoNotFoundError early
        if not self.always_open and not any(self.weekly.get(d) for d in range(7)):
            raise ValueError(f"calendar {self.name!r} has no opening hours; add weekly hours or set 24x7")
        for day, windows in self.weekly.items():
            for start, end in windows:
                if end is not None and end <= start:
                    raise ValueError(f"calendar {self.name!r}: weekday {day} window {start}-{end} ends before start")

    @classmethod
    def weekdays(
        cls, name: str, *, tz: str = "UTC", start: time, end: time | None, holidays: Iterable[date] = ()
    ) -> BusinessCalendar:
        """A Monday-to-Friday calendar with one window per day."""
        return cls(name=name, tz=tz, weekly=dict.fromkeys(range(5), ((start, end),)), holidays=frozenset(holidays))

    @classmethod
    def twenty_four_seven(cls, name: str = "24x7", tz: str = "UTC") -> BusinessCalendar:
        """A calendar that never closes."""
        return cls(name=name, tz=tz, always_open=True)

    # -- queries -------------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether the clock runs at instant ``at``."""
        require_aware(at, "at")
        if self.always_open:
            return True
        return any(start <= at < end for start, end in self._windows_of(at.astimezone(ZoneInfo(self.tz)).date()))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself if open, else the start of the next opening window."""
        require_aware(at, "at")
        if self.always_open:
            return at
        for start, _end in self._intervals_from(at):
            return max(start, at)
        raise AssertionError("unreachable")  # pragma: no cover

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of business time has elapsed after ``start``.

        Args:
            start: Aware start instant; may be outside business hours (counting starts at the next opening).
            duration: Non-negative business time to add.

        Returns:
            An aware datetime in the calendar's timezone; ``start`` itself when ``duration`` is zero.

        Raises:
            ValueError: If ``start`` is naive or ``duration`` negative.
        """
        require_aware(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration must be >= 0, got {duration}")
        zone = ZoneInfo(self.tz)
        if duration == timedelta(0):
            return start.astimezone(zone)
        if self.always_open:
            return (start.astimezone(UTC) + duration).astimezone(zone)
        remaining = duration
        for lo, hi in self._intervals_from(start):
            lo = max(lo, start)
            span = hi - lo
            if span >= remaining:
                return (lo.astimezone(UTC) + remaining).astimezone(zone)
            remaining -= span
        raise AssertionError("unreachable")  # pragma: no cover

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed from ``start`` to ``end`` (zero if ``end <= start``)."""
        require_aware(start, "start")
        require_aware(end, "end")
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end.astimezone(UTC) - start.astimezone(UTC)
        total = timedelta(0)
        for lo, hi in self._intervals_from(start):
            if lo >= end:
                break
            total += min(hi, end).astimezone(UTC) - max(lo, start).astimezone(UTC)
        return total

    # -- internals -----------------------------------------------------------------------------

    def _windows_of(self, day: date) -> list[tuple[datetime, datetime]]:
        """Opening windows of a local date as aware UTC intervals."""
        if day in self.holidays:
            return []
        zone = ZoneInfo(self.tz)
        out = []
        for start, end in self.weekly.get(day.weekday(), ()):
            lo = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            hi_local = (
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                if end is None
                else datetime.combine(day, end, tzinfo=zone)
            )
            hi = hi_local.astimezone(UTC)
            if hi > lo:
                out.append((lo, hi))
        return sorted(out)

    def _intervals_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals (UTC) that end after ``at``, in order, merged where they touch."""
        day = at.astimezone(ZoneInfo(self.tz)).date() - timedelta(days=1)
        pending: tuple[datetime, datetime] | None = None
        for offset in range(_MAX_SCAN_DAYS):
            for lo, hi in self._windows_of(day + timedelta(days=offset)):
                if pending is not None and lo <= pending[1]:
                    pending = (pending[0], max(pending[1], hi))
                    continue
                if pending is not None and pending[1] > at:
                    yield pending
                pending = (lo, hi)
        if pending is not None and pending[1] > at:
            yield pending
            return
        raise ValueError(f"calendar {self.name!r} is closed for {_MAX_SCAN_DAYS} days after {at.isoformat()}")
