"""SLA clocks to JSON and back (the ``sla_clocks.state`` column)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from triage.domain.calendar import BusinessCalendar
from triage.domain.sla import SlaClock, SlaCycle, SlaTarget
from triage.kernel.errors import ConfigError

FORMAT = 1


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _d(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def clock_to_json(clock: SlaClock) -> dict[str, Any]:
    """Everything needed to rebuild ``clock``; its calendar is stored by name."""
    return {
        "format": FORMAT,
        "ticket_id": clock.ticket_id,
        "target": {
            "first_response_s": clock.target.first_response.total_seconds(),
            "resolution_s": clock.target.resolution.total_seconds(),
            "calendar": clock.target.calendar,
        },
        "started_at": _t(clock.started_at),
        "cycles": [
            {
                "number": cycle.number,
                "started_at": _t(cycle.started_at),
                "banked_s": cycle.banked.total_seconds(),
                "running_since": _t(cycle.running_since),
                "segments": [[_t(a), _t(b)] for a, b in cycle.segments],
                "stopped": {metric: [_t(at), elapsed.total_seconds()] for metric, (at, elapsed) in cycle.stopped.items()},
            }
            for cycle in clock.cycles
        ],
    }


def clock_from_json(data: Mapping[str, Any], calendars: Mapping[str, BusinessCalendar]) -> SlaClock:
    """Rebuild a clock stored by :func:`clock_to_json`.

    Raises:
        ConfigError: its calendar is no longer configured.
    """
    target = data["target"]
    name = target["calendar"]
    if name not in calendars:
        raise ConfigError(
            f"ticket {data['ticket_id']}: its SLA clock runs on calendar {name!r}, which calendars.toml no longer "
            f"defines; add it back (known: {', '.join(calendars)})"
        )
    cycles = [
        SlaCycle(
            number=int(raw["number"]),
            started_at=_d(raw["started_at"]),  # type: ignore[arg-type]
            banked=timedelta(seconds=raw["banked_s"]),
            running_since=_d(raw["running_since"]),
            segments=[(_d(a), _d(b)) for a, b in raw["segments"]],  # type: ignore[misc]
            stopped={m: (_d(at), timedelta(seconds=s)) for m, (at, s) in raw["stopped"].items()},  # type: ignore[misc]
        )
        for raw in data["cycles"]
    ]
    return SlaClock(
        ticket_id=data["ticket_id"],
        target=SlaTarget(
            first_response=timedelta(seconds=target["first_response_s"]),
            resolution=timedelta(seconds=target["resolution_s"]),
            calendar=name,
        ),
        calendar=calendars[name],
        started_at=_d(data["started_at"]),  # type: ignore[arg-type]
        cycles=cycles,
    )
