"""Routing: which agent gets a ticket, and a thread-safe board that keeps loads honest.

``assign`` is a pure function over domain values. ``RoutingBoard`` wraps it with state (loads, open
assignments, team queues) behind one lock, and takes slots through an :class:`AgentLoadStore` whose
``claim`` is atomic, so two tickets routed at the same moment never overfill an agent, even when
several processes share a SQL-backed store.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from triage.domain import Agent, AgentStatus, Assignment, RoutingPolicy, TicketForRouting
from triage.errors import NoEligibleAgent
from triage.ports import AgentLoadStore, InMemoryAgentLoadStore

_PRIORITY_RANK = {"P1": 0, "P2": 1, "P3": 2, "P4": 3}


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
    ticket: TicketForRouting,
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
        elif strategy is Strategy.SKILLS:
            if agent.skill_level(route.skill) < min_level:
                problem = f"lacks {route.skill}≥{min_level}"
            elif not agent.speaks(ticket.language):
                problem = f"does not speak {ticket.language}"
            elif senior_reason and not agent.is_senior(policy.senior_seniority):
                problem = "not senior"
        if problem is not None:
            rejected[problem] = rejected.get(problem, 0) + 1
            continue
        if strategy is Strategy.SKILLS:
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
    ticket: TicketForRouting,
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
    team = policy.route_for(ticket.category).team
    candidates, rejections = rank_candidates(
        ticket, agents, policy, now=now, loads=loads or {}, last_assigned=last_assigned, strategy=strategy
    )
    if candidates:
        best = candidates[0]
        tie = len(candidates) > 1 and candidates[1].load == best.load
        reasons = best.reasons + (("least load, round robin",) if tie and strategy is Strategy.SKILLS else ())
        return Assignment(ticket_id=ticket.id, team=team, agent_id=best.agent.id, reasons=reasons)
    return Assignment(ticket_id=ticket.id, team=team, agent_id=None, reasons=_queue_reasons(ticket, policy, rejections))


def _queue_reasons(ticket: TicketForRouting, policy: RoutingPolicy, rejections: list[str]) -> tuple[str, ...]:
    route = policy.route_for(ticket.category)
    need = f"no eligible agent for {route.skill}≥{policy.skill_level_for(ticket.priority)} in {ticket.language}"
    senior = policy.needs_senior(ticket)
    if senior:
        need += f" ({senior})"
    return (need, *(f"rejected: {r}" for r in rejections), f"queued for team {route.team}")


@dataclass
class _Open:
    ticket: TicketForRouting
    agent_id: str
    started: bool = False


@dataclass
class RoutingBoard:
    """In-process routing state: who holds which ticket, team queues, presence. Every method is atomic.

    Args:
        agents: The roster.
        policy: Routing rules.
        store: Where loads live; an in-memory store by default, a SQL store to share loads across processes.
        strategy: Routing strategy.

    Example:
        >>> board = RoutingBoard(agents=roster, policy=policy)
        >>> assignment = board.route(ticket, now=now)
        >>> board.release(ticket.id)  # resolved
    """

    agents: Iterable[Agent]
    policy: RoutingPolicy
    store: AgentLoadStore = field(default_factory=InMemoryAgentLoadStore)
    strategy: Strategy = Strategy.SKILLS
    _roster: dict[str, Agent] = field(init=False, repr=False)
    _open: dict[str, _Open] = field(default_factory=dict, init=False, repr=False)
    _queues: dict[str, list[TicketForRouting]] = field(default_factory=dict, init=False, repr=False)
    _last: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _seq: int = field(default=0, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._roster = {agent.id: agent for agent in self.agents}

    # -- routing -------------------------------------------------------------------------------

    def route(self, ticket: TicketForRouting, *, now: datetime, exclude: frozenset[str] = frozenset()) -> Assignment:
        """Assign ``ticket`` and take a slot of the agent, or queue it in its team's queue.

        Args:
            ticket: The ticket.
            now: Routing instant.
            exclude: Agent ids not to consider (e.g. the agent a ticket is being taken from).

        Returns:
            The assignment (``queued`` when nobody was eligible).
        """
        with self._lock:
            if ticket.id in self._open:
                held = self._open[ticket.id]
                team = self.policy.route_for(ticket.category).team
                return Assignment(ticket.id, team, held.agent_id, ("already assigned",))
            agents = [a for a in self._roster.values() if a.id not in exclude]
            loads = self.store.loads([a.id for a in agents])
            candidates, rejections = rank_candidates(
                ticket, agents, self.policy, now=now, loads=loads, last_assigned=self._last, strategy=self.strategy
            )
            team = self.policy.route_for(ticket.category).team
            for cand in candidates:
                # Another process may have taken the last slot since we read loads: claim is the arbiter.
                if self.store.claim(cand.agent.id, cand.agent.capacity):
                    self._seq += 1
                    self._last[cand.agent.id] = self._seq
                    self._open[ticket.id] = _Open(ticket=ticket, agent_id=cand.agent.id)
                    return Assignment(ticket.id, team, cand.agent.id, cand.reasons)
                rejections.append(f"1 {cand.agent.id} filled concurrently")
            self._queues.setdefault(team, []).append(ticket)
            return Assignment(ticket.id, team, None, _queue_reasons(ticket, self.policy, rejections))

    def route_or_raise(self, ticket: TicketForRouting, *, now: datetime) -> Assignment:
        """Like :meth:`route` but raise when the ticket could only be queued.

        Raises:
            NoEligibleAgent: With the queue reasons; the ticket stays queued.
        """
        assignment = self.route(ticket, now=now)
        if assignment.queued:
            raise NoEligibleAgent(f"ticket {ticket.id}: {assignment.explain()}")
        return assignment

    def start(self, ticket_id: str) -> None:
        """The assignee started work; the ticket will no longer be moved by :meth:`reassign_from`."""
        with self._lock:
            if ticket_id in self._open:
                self._open[ticket_id].started = True

    def release(self, ticket_id: str) -> str | None:
        """The ticket left the agent (resolved, closed, moved). Returns the agent id that held it."""
        with self._lock:
            held = self._open.pop(ticket_id, None)
            if held is None:
                return None
            self.store.release(held.agent_id)
            return held.agent_id

    def set_presence(self, agent_id: str, status: AgentStatus | None) -> None:
        """Override an agent's presence (``None`` = follow shifts again)."""
        with self._lock:
            self._roster[agent_id] = replace(self._roster[agent_id], presence=status)

    def reassign_from(self, agent_id: str, *, now: datetime) -> list[Assignment]:
        """Move the agent's unstarted tickets to other agents (or queues), atomically.

        Args:
            agent_id: The agent who went offline or away.
            now: Routing instant.

        Returns:
            One assignment per moved ticket.
        """
        with self._lock:
            moving = [o.ticket for o in self._open.values() if o.agent_id == agent_id and not o.started]
            out = []
            for ticket in moving:
                self.release(ticket.id)
                out.append(self.route(ticket, now=now, exclude=frozenset({agent_id})))
            return out

    def pull_next(self, agent_id: str, *, now: datetime) -> Assignment | None:
        """Give the agent the queued ticket it should take next (``skills``: P1 first, then oldest; else oldest)."""
        with self._lock:
            agent = self._roster[agent_id]
            waiting = sorted(
                ((team, i, t) for team, queue in self._queues.items() for i, t in enumerate(queue)),
                key=lambda x: (
                    _PRIORITY_RANK.get(x[2].priority, 9) if self.strategy is Strategy.SKILLS else 0,
                    x[2].created_at or now,
                    x[1],
                ),
            )
            loads = {agent_id: self.store.load_of(agent_id)}
            for team, _i, ticket in waiting:
                found, _ = rank_candidates(
                    ticket, [agent], self.policy, now=now, loads=loads, last_assigned=self._last, strategy=self.strategy
                )
                if found and self.store.claim(agent_id, agent.capacity):
                    self._queues[team].remove(ticket)
                    self._seq += 1
                    self._last[agent_id] = self._seq
                    self._open[ticket.id] = _Open(ticket=ticket, agent_id=agent_id)
                    return Assignment(ticket.id, team, agent_id, (*found[0].reasons, "pulled from queue"))
            return None

    # -- queries -------------------------------------------------------------------------------

    def load_of(self, agent_id: str) -> int:
        """Current number of open tickets of ``agent_id``."""
        return self.store.load_of(agent_id)

    def holder_of(self, ticket_id: str) -> str | None:
        """The agent holding ``ticket_id``, or ``None``."""
        with self._lock:
            held = self._open.get(ticket_id)
            return held.agent_id if held else None

    def queue(self, team: str) -> list[TicketForRouting]:
        """A snapshot of ``team``'s queue, oldest first."""
        with self._lock:
            return list(self._queues.get(team, ()))

    def agent(self, agent_id: str) -> Agent:
        """The roster entry of ``agent_id`` (with its current presence)."""
        return self._roster[agent_id]
