"""Routing: which agent gets a ticket, as pure functions over domain values.

:func:`assign` ranks the online agents that have the category's skill at the level the priority needs, speak the
ticket's language and are senior enough, then picks the least loaded (round robin within ties). A ticket whose
category the taxonomy does not route goes to the taxonomy's triage queue, with the reason.
The stateful board that claims agent slots lives in :mod:`triage.services.routing_board`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from triage.domain.agents import Agent, AgentStatus
from triage.domain.taxonomy import CategoryRoute, Taxonomy
from triage.domain.ticket import Ticket
from triage.kernel.vocabulary import Priority, Tier

#: Skill level an agent needs by ticket priority, unless routing.toml says otherwise.
DEFAULT_MIN_SKILL_LEVEL: Mapping[str, int] = {Priority.P1: 3, Priority.P2: 2, Priority.P3: 1, Priority.P4: 1}


@dataclass(frozen=True)
class RoutingPolicy:
    """Routing rules that come from configuration.

    ``min_skill_level`` is per priority (e.g. P1 needs level 3). P1 tickets and angry VIPs need an agent
    with ``seniority >= senior_seniority``; with ``vip_needs_senior`` every VIP does.
    """

    taxonomy: Taxonomy
    min_skill_level: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_MIN_SKILL_LEVEL))
    senior_seniority: int = 3
    angry_threshold: float = 0.7
    vip_needs_senior: bool = False

    def route_for(self, category: str | None) -> CategoryRoute | None:
        """The skill and team of ``category`` (longest taxonomy prefix), ``None`` when nothing routes it."""
        return self.taxonomy.route_for(category) if category else None

    def needs_senior(self, ticket: Ticket) -> str | None:
        """Why ``ticket`` needs a senior agent, or ``None`` if it does not."""
        if ticket.priority == Priority.P1:
            return "P1→senior"
        if ticket.is_angry_vip(self.angry_threshold):
            return "angry VIP→senior"
        if self.vip_needs_senior and ticket.tier == Tier.VIP:
            return "VIP→senior"
        return None

    def team_for(self, ticket: Ticket) -> str:
        """The team whose queue holds ``ticket``: its category's team, else the taxonomy's triage queue."""
        route = self.route_for(ticket.category)
        return route.team if route is not None else self.taxonomy.triage_queue

    def skill_level_for(self, priority: str | None) -> int:
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


class Strategy(enum.StrEnum):
    """Routing strategies. ``round_robin`` is the naive baseline the simulator compares against."""

    SKILLS = "skills"  # skill + language + seniority + least load, round robin within ties
    ROUND_ROBIN = "round_robin"  # next online agent with free capacity, nothing else considered


@dataclass(frozen=True)
class Candidate:
    """An eligible agent with the reasons it qualifies."""

    agent: Agent
    load: int
    reasons: tuple[str, ...]


def rank_candidates(
    ticket: Ticket,
    agents: Iterable[Agent],
    policy: RoutingPolicy,
    *,
    now: datetime,
    loads: Mapping[str, int],
    last_assigned: Mapping[str, int] | None = None,
    strategy: Strategy = Strategy.SKILLS,
) -> tuple[list[Candidate], list[str]]:
    """Eligible agents for ``ticket``, best first, and the reasons others were rejected.

    Args:
        ticket: The triaged ticket.
        agents: Every agent that could be considered.
        policy: Category → skill/team map, skill levels per priority and seniority rules.
        now: The routing instant (agents' shifts decide who is online).
        loads: Open tickets per agent id.
        last_assigned: Sequence number of each agent's latest assignment (round robin within ties).
        strategy: ``skills`` (default) or the ``round_robin`` baseline.

    Returns:
        ``(candidates, rejections)``; rejections summarise why agents were not eligible.
    """
    last = last_assigned or {}
    route = policy.route_for(ticket.category)
    if route is None and strategy is Strategy.SKILLS:
        return [], [f"category {ticket.category!r} is not routed by the taxonomy"]
    min_level = policy.skill_level_for(ticket.priority)
    senior_reason = policy.needs_senior(ticket) if strategy is Strategy.SKILLS else None
    rejected: dict[str, int] = {}
    eligible: list[Candidate] = []
    for agent in agents:
        load = int(loads.get(agent.id, 0))
        problem = None
        status = agent.status_at(now)
        if status is not AgentStatus.ONLINE:
            problem = str(status)
        elif load >= agent.capacity:
            problem = "at capacity"
        elif route is not None and strategy is Strategy.SKILLS:
            if agent.skill_level(route.skill) < min_level:
                problem = f"lacks {route.skill}≥{min_level}"
            elif not agent.speaks(ticket.language):
                problem = f"does not speak {ticket.language}"
            elif senior_reason and not agent.is_senior(policy.senior_seniority):
                problem = "not senior"
        if problem is not None:
            rejected[problem] = rejected.get(problem, 0) + 1
            continue
        if route is not None and strategy is Strategy.SKILLS:
            reasons = [
                f"skill {route.skill}≥{min_level} (has {agent.skill_level(route.skill)})",
                f"speaks {ticket.language}",
                f"load {load}/{agent.capacity}",
            ]
            if senior_reason:
                reasons.append(senior_reason)
        else:
            reasons = ["round robin", f"load {load}/{agent.capacity}"]
        eligible.append(Candidate(agent=agent, load=load, reasons=tuple(reasons)))
    if strategy is Strategy.SKILLS:
        eligible.sort(key=lambda c: (c.load, last.get(c.agent.id, -1), c.agent.id))
    else:
        eligible.sort(key=lambda c: (last.get(c.agent.id, -1), c.agent.id))
    rejections = [f"{count} {problem}" for problem, count in sorted(rejected.items())]
    return eligible, rejections


def assign(
    ticket: Ticket,
    agents: Iterable[Agent],
    policy: RoutingPolicy,
    *,
    now: datetime,
    loads: Mapping[str, int] | None = None,
    last_assigned: Mapping[str, int] | None = None,
    strategy: Strategy = Strategy.SKILLS,
) -> Assignment:
    """Pick the agent for ``ticket`` or park it in its team's queue, with the reasons.

    Rules (``skills`` strategy): the agent is online, below capacity, has the category's skill at the
    level the priority needs, speaks the ticket's language, and is senior for P1 tickets and angry VIPs.
    Ties go to the least loaded agent, then to the one assigned longest ago (round robin).

    Args:
        ticket: The triaged ticket.
        agents: Candidate agents.
        policy: Routing rules from configuration.
        now: Routing instant.
        loads: Open tickets per agent id (missing = 0).
        last_assigned: Sequence number of each agent's latest assignment.
        strategy: ``skills`` or ``round_robin``.

    Returns:
        An :class:`Assignment`; ``agent_id`` is ``None`` when the ticket is queued.
    """
    team = policy.team_for(ticket)
    candidates, rejections = rank_candidates(
        ticket, agents, policy, now=now, loads=loads or {}, last_assigned=last_assigned, strategy=strategy
    )
    if candidates:
        best = candidates[0]
        tie = len(candidates) > 1 and candidates[1].load == best.load
        reasons = best.reasons + (("least load, round robin",) if tie and strategy is Strategy.SKILLS else ())
        return Assignment(ticket_id=ticket.id, team=team, agent_id=best.agent.id, reasons=reasons)
    return Assignment(ticket_id=ticket.id, team=team, agent_id=None, reasons=queue_reasons(ticket, policy, rejections))


def queue_reasons(ticket: Ticket, policy: RoutingPolicy, rejections: list[str]) -> tuple[str, ...]:
    """Why ``ticket`` waits in a queue: what it needs, why agents were rejected, and which queue holds it."""
    route = policy.route_for(ticket.category)
    if route is None:
        return (
            f"category {ticket.category!r} is not in the taxonomy",
            f"queued for team {policy.taxonomy.triage_queue} (triage queue)",
        )
    need = f"no eligible agent for {route.skill}≥{policy.skill_level_for(ticket.priority)} in {ticket.language}"
    senior = policy.needs_senior(ticket)
    if senior:
        need += f" ({senior})"
    return (need, *(f"rejected: {r}" for r in rejections), f"queued for team {route.team}")
