"""Routing and SLA domain: agents, teams, tickets as routing sees them, SLA targets, assignments, escalations.

Pure dataclasses with behaviour; only the standard library is imported here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Priority = Literal["P1", "P2", "P3", "P4"]
Tier = Literal["standard", "vip"]
Language = Literal["zh", "en"]
Metric = Literal["first_response", "resolution", "acceptance"]

PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
TIERS: tuple[str, ...] = ("standard", "vip")
LANGUAGES: tuple[str, ...] = ("zh", "en")
CATEGORIES: tuple[str, ...] = (
    "account/access",
    "billing/payment",
    "billing/refund",
    "billing/invoice",
    "repair/network",
    "repair/hardware",
    "repair/software",
    "service/outage",
    "delivery/shipping",
    "inquiry/product",
    "complaint/service",
)
METRICS: tuple[str, ...] = ("first_response", "resolution", "acceptance")


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` unchanged if it carries a timezone.

    Args:
        value: The datetime to check.
        name: What to call it in the error message.

    Returns:
        The same datetime.

    Raises:
        ValueError: If ``value`` is naive; every instant in routing and SLA code must be unambiguous.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()}); pass tzinfo=UTC")
    return value


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


@dataclass(frozen=True)
class TicketForRouting:
    """The minimal view of a triaged ticket that routing and SLA need."""

    id: str
    category: str
    priority: str
    language: str
    tier: str = "standard"
    anger: float = 0.0  # 0 calm .. 1 furious (from the sentiment stage)
    created_at: datetime | None = None

    def is_angry_vip(self, threshold: float) -> bool:
        return self.tier == "vip" and self.anger >= threshold


@dataclass(frozen=True)
class CategoryRoute:
    """Where a category goes: the skill it needs and the team whose queue holds it."""

    skill: str
    team: str


@dataclass(frozen=True)
class RoutingPolicy:
    """Routing rules that come from configuration.

    ``min_skill_level`` is per priority (e.g. P1 needs level 3). P1 tickets and angry VIPs need an agent
    with ``seniority >= senior_seniority``; with ``vip_needs_senior`` every VIP does.
    """

    categories: Mapping[str, CategoryRoute]
    min_skill_level: Mapping[str, int] = field(default_factory=lambda: {"P1": 3, "P2": 2, "P3": 1, "P4": 1})
    senior_seniority: int = 3
    angry_threshold: float = 0.7
    vip_needs_senior: bool = False
    default_team: str = "general"

    def route_for(self, category: str) -> CategoryRoute:
        """The skill and team of ``category``; unknown categories go to the default team's general skill."""
        return self.categories.get(category, CategoryRoute(skill="general", team=self.default_team))

    def needs_senior(self, ticket: TicketForRouting) -> str | None:
        """Why ``ticket`` needs a senior agent, or ``None`` if it does not."""
        if ticket.priority == "P1":
            return "P1→senior"
        if ticket.is_angry_vip(self.angry_threshold):
            return "angry VIP→senior"
        if self.vip_needs_senior and ticket.tier == "vip":
            return "VIP→senior"
        return None

    def skill_level_for(self, priority: str) -> int:
        return int(self.min_skill_level.get(priority, 1))


@dataclass(frozen=True)
class Assignment:
    """The outcome of routing one ticket: an agent, or a team queue, always with reasons."""

    ticket_id: str
    team: str
    agent_id: str | None
    reasons: tuple[str, ...]

    @property
    def queued(self) -> bool:
        return self.agent_id is None

    def explain(self) -> str:
        return ", ".join(self.reasons)


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

    Keys are ``(priority, tier, category)``; ``category`` ``None`` is the row for every category.
    """

    targets: Mapping[tuple[str, str, str | None], SlaTarget]

    def target_for(self, *, priority: str, tier: str, category: str | None = None) -> SlaTarget:
        """The most specific target: the category row if there is one, else the priority × tier row.

        Raises:
            KeyError: If the matrix has no row for ``priority`` × ``tier``.
        """
        specific = self.targets.get((priority, tier, category))
        if specific is not None:
            return specific
        try:
            return self.targets[(priority, tier, None)]
        except KeyError:
            raise KeyError(f"no SLA target for priority={priority!r} tier={tier!r}; add it to sla.toml") from None


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
