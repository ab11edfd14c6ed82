"""Agents, their shifts and presence, and teams."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from triage.kernel.clock import require_aware


class AgentStatus(enum.StrEnum):
    """Presence of an agent. Only ``online`` agents receive new work."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Shift:
    """A recurring working window, e.g. Mon-Fri 09:00-17:00 Asia/Shanghai. ``end <= start`` spans midnight."""

    weekdays: frozenset[int]  # 0 = Monday
    start: time
    end: time
    tz: str = "UTC"

    def covers(self, at: datetime) -> bool:
        """Whether the instant ``at`` falls inside this shift (in the shift's own timezone)."""
        local = require_aware(at, "at").astimezone(ZoneInfo(self.tz))
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return local.weekday() in self.weekdays and self.start <= clock < self.end
        # Overnight shift: the part after midnight belongs to the previous day's shift.
        if clock >= self.start:
            return local.weekday() in self.weekdays
        return clock < self.end and (local.weekday() - 1) % 7 in self.weekdays


@dataclass(frozen=True)
class Agent:
    """A help-desk agent.

    ``skills`` maps a skill name to a level (1 = basic .. 5 = expert). ``presence`` is a manual override
    (an agent who clicks "away"); without it the status follows the shifts, and an agent without shifts
    is always online.
    """

    id: str
    name: str
    team: str
    skills: Mapping[str, int]
    languages: frozenset[str]
    capacity: int
    seniority: int = 1  # 1 junior, 2 regular, 3 senior, 4 lead
    shifts: tuple[Shift, ...] = ()
    presence: AgentStatus | None = None

    def status_at(self, now: datetime) -> AgentStatus:
        """The agent's status at ``now``: the manual override if any, else online inside a shift."""
        if self.presence is not None:
            return self.presence
        if not self.shifts or any(shift.covers(now) for shift in self.shifts):
            return AgentStatus.ONLINE
        return AgentStatus.OFFLINE

    def skill_level(self, skill: str) -> int:
        """Level in ``skill``, 0 when the agent lacks it."""
        return int(self.skills.get(skill, 0))

    def speaks(self, language: str) -> bool:
        return language in self.languages

    def is_senior(self, min_seniority: int) -> bool:
        return self.seniority >= min_seniority


@dataclass(frozen=True)
class Team:
    """A team owns a queue; its lead and director receive escalations."""

    id: str
    name: str
    lead: str | None = None
    director: str | None = None
    calendar: str = "default"
