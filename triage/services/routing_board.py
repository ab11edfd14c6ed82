"""The routing board: who holds which ticket, team queues and presence, in one process.

``RoutingBoard`` wraps the pure :func:`~triage.domain.routing.rank_candidates` with state behind one lock, and
takes agent slots through an :class:`~triage.ports.AgentLoadStore` whose ``claim`` is atomic, so two tickets
routed at the same moment never overfill an agent, even when several processes share a SQL-backed store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from triage.domain.agents import Agent, AgentStatus
from triage.domain.routing import Assignment, RoutingPolicy, Strategy, queue_reasons, rank_candidates
from triage.domain.ticket import Ticket
from triage.kernel.vocabulary import Priority
from triage.ports import AgentLoadStore, InMemoryAgentLoadStore


def claim_assignment(
    ticket: Ticket,
    agents: list[Agent],
    policy: RoutingPolicy,
    store: AgentLoadStore,
    *,
    now: datetime,
    strategy: Strategy = Strategy.SKILLS,
) -> Assignment:
    """Rank the eligible agents and take a slot of the best one that still has room, else explain the queue.

    ``store.claim`` is the arbiter: another router may take the last slot between reading loads and claiming.
    """
    ids = [a.id for a in agents]
    candidates, rejections = rank_candidates(
        ticket, agents, policy, now=now, loads=store.loads(ids), last_assigned=store.last_assigned(ids), strategy=strategy
    )
    team = policy.team_for(ticket)
    for candidate in candidates:
        if store.claim(candidate.agent.id, candidate.agent.capacity):
            store.mark_assigned(candidate.agent.id)
            return Assignment(ticket.id, team, candidate.agent.id, candidate.reasons)
        rejections.append(f"1 {candidate.agent.id} filled concurrently")
    return Assignment(ticket.id, team, None, queue_reasons(ticket, policy, rejections))


def _priority_rank(ticket: Ticket) -> int:
    return ticket.priority.rank if ticket.priority is not None else len(Priority)


@dataclass
class _Open:
    ticket: Ticket
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
    _queues: dict[str, list[Ticket]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._roster = {agent.id: agent for agent in self.agents}

    # -- routing -------------------------------------------------------------------------------

    def route(self, ticket: Ticket, *, now: datetime, exclude: frozenset[str] = frozenset()) -> Assignment:
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
                return Assignment(ticket.id, self.policy.team_for(ticket), held.agent_id, ("already assigned",))
            agents = [a for a in self._roster.values() if a.id not in exclude]
            assignment = claim_assignment(ticket, agents, self.policy, self.store, now=now, strategy=self.strategy)
            if assignment.queued:
                self._queues.setdefault(assignment.team, []).append(ticket)
            else:
                self._open[ticket.id] = _Open(ticket=ticket, agent_id=assignment.agent_id)  # type: ignore[arg-type]
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
                    _priority_rank(x[2]) if self.strategy is Strategy.SKILLS else 0,
                    x[2].created_at or now,
                    x[1],
                ),
            )
            loads = {agent_id: self.store.load_of(agent_id)}
            last = self.store.last_assigned([agent_id])
            for team, _i, ticket in waiting:
                found, _ = rank_candidates(
                    ticket, [agent], self.policy, now=now, loads=loads, last_assigned=last, strategy=self.strategy
                )
                if found and self.store.claim(agent_id, agent.capacity):
                    self._queues[team].remove(ticket)
                    self.store.mark_assigned(agent_id)
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

    def queue(self, team: str) -> list[Ticket]:
        """A snapshot of ``team``'s queue, oldest first."""
        with self._lock:
            return list(self._queues.get(team, ()))

    def agent(self, agent_id: str) -> Agent:
        """The roster entry of ``agent_id`` (with its current presence)."""
        return self._roster[agent_id]
