"""Discrete-event simulation of the help desk, for staffing decisions ("what if one more network engineer?").

Tickets arrive as a Poisson stream with categories drawn from a given mix (the CLI derives it from the IT
service-ticket dataset, or uses a demo mix), priorities, languages and tiers from a demo mix. Routing goes
through the real :class:`~triage.services.routing_board.RoutingBoard`, so the simulated policy is the production
one. Each agent works on
one ticket at a time and keeps up to ``capacity`` assigned tickets; work starts (first response) when the
agent picks the ticket up. Handling is slower for agents with a low or missing skill level and in a
language they do not speak.

Simplifications: time is *business* time (all agents on duty; shifts and calendars are not simulated),
every ticket is answered at the start of work, and handling times are exponential.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from triage.domain.agents import Agent
from triage.domain.routing import RoutingPolicy, Strategy
from triage.domain.sla import SlaPolicy
from triage.domain.ticket import Customer, Ticket
from triage.kernel.vocabulary import Language, Priority, Tier
from triage.services.routing_board import RoutingBoard

PRIORITY_MIX: Mapping[Priority, float] = {Priority.P1: 0.08, Priority.P2: 0.22, Priority.P3: 0.45, Priority.P4: 0.25}
LANGUAGE_MIX: Mapping[Language, float] = {Language.ZH: 0.5, Language.EN: 0.5}
VIP_SHARE = 0.15
MEAN_HANDLING_MIN = 30.0  # an expert's mean handling time in minutes
#: Handling-time factor by skill level (0 = lacks the skill) and for a language the agent does not speak.
SKILL_FACTOR = {0: 2.0, 1: 1.6, 2: 1.3}
LANGUAGE_FACTOR = 1.5


@dataclass(frozen=True)
class Arrival:
    """One simulated arrival: the ticket, its arrival minute and an expert's handling minutes."""

    ticket: Ticket
    arrival: float  # minutes of business time
    work: float  # expert handling time in minutes


@dataclass(frozen=True)
class PolicyResult:
    """Outcome of one simulated run."""

    label: str
    tickets: int
    attainment: Mapping[str, float]  # priority -> share answered within the first-response target
    mean_frt: float  # minutes
    p90_frt: float
    utilisation: Mapping[str, float]  # agent id -> busy share of the run
    queued_share: float

    @property
    def mean_utilisation(self) -> float:
        """Mean utilisation over agents."""
        return statistics.fmean(self.utilisation.values())

    @property
    def jain_fairness(self) -> float:
        """Jain's index of agent utilisation: 1 = perfectly even, 1/n = one agent does everything."""
        values = list(self.utilisation.values())
        squares = sum(v * v for v in values)
        return (sum(values) ** 2) / (len(values) * squares) if squares else 1.0


@dataclass
class _AgentState:
    agent: Agent
    backlog: list[Arrival] = field(default_factory=list)
    busy: bool = False
    busy_time: float = 0.0


def generate_tickets(*, mix: Mapping[str, float], rate_per_min: float, horizon_min: float, seed: int) -> list[Arrival]:
    """A seeded Poisson stream of tickets over ``horizon_min`` minutes."""
    rng = random.Random(seed)
    cats, cat_w = list(mix), list(mix.values())
    prios, prio_w = list(PRIORITY_MIX), list(PRIORITY_MIX.values())
    langs, lang_w = list(LANGUAGE_MIX), list(LANGUAGE_MIX.values())
    out, t, i = [], 0.0, 0
    while True:
        t += rng.expovariate(rate_per_min)
        if t >= horizon_min:
            return out
        i += 1
        category = rng.choices(cats, cat_w)[0]
        priority = rng.choices(prios, prio_w)[0]
        language = rng.choices(langs, lang_w)[0]
        tier = Tier.VIP if rng.random() < VIP_SHARE else Tier.STANDARD
        ticket = Ticket(
            id=f"S{i:05d}",
            customer=Customer(id=f"SC{i:05d}", tier=tier),
            category=category,
            priority=priority,
            language=language,
            anger=rng.random() ** 2,
            created_at=_EPOCH + timedelta(minutes=t),
        )
        out.append(Arrival(ticket=ticket, arrival=t, work=rng.expovariate(1.0 / MEAN_HANDLING_MIN)))


_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)


def handling_minutes(agent: Agent, ticket: Arrival, policy: RoutingPolicy) -> float:
    """How long ``agent`` needs for ``ticket``: expert time × skill factor × language factor."""
    route = policy.route_for(ticket.ticket.category)
    level = agent.skill_level(route.skill) if route is not None else 0
    factor = SKILL_FACTOR.get(level, 1.0)
    if not agent.speaks(ticket.ticket.language):
        factor *= LANGUAGE_FACTOR
    return ticket.work * factor


def simulate(
    tickets: Sequence[Arrival],
    agents: Sequence[Agent],
    policy: RoutingPolicy,
    sla: SlaPolicy,
    *,
    strategy: Strategy,
    label: str | None = None,
) -> PolicyResult:
    """Run one policy over a ticket stream until every ticket is handled.

    Args:
        tickets: Arrivals (see :func:`generate_tickets`); the same stream should be used for every policy.
        agents: The roster (shifts are ignored: everyone is on duty in business time).
        policy: Routing rules.
        sla: SLA matrix; first-response targets decide attainment.
        strategy: Routing strategy to simulate.
        label: Row label in reports.

    Returns:
        Attainment per priority, first-response statistics, utilisation and fairness.
    """
    roster = [replace(a, shifts=(), presence=None) for a in agents]
    board = RoutingBoard(agents=roster, policy=policy, strategy=strategy)
    states = {a.id: _AgentState(agent=a) for a in roster}
    by_id = {t.ticket.id: t for t in tickets}
    events: list[tuple[float, int, str, str]] = []
    seq = 0
    for t in tickets:
        seq += 1
        heapq.heappush(events, (t.arrival, seq, "arrive", t.ticket.id))
    frt: dict[str, float] = {}
    queued = 0
    now = 0.0

    def start_next(state: _AgentState) -> None:
        nonlocal seq
        if state.busy or not state.backlog:
            return
        if strategy is Strategy.SKILLS:
            state.backlog.sort(key=lambda s: (s.ticket.priority.rank, s.arrival))
        job = state.backlog.pop(0)
        board.start(job.ticket.id)
        frt[job.ticket.id] = now - job.arrival
        minutes = handling_minutes(state.agent, job, policy)
        state.busy, state.busy_time = True, state.busy_time + minutes
        seq += 1
        heapq.heappush(events, (now + minutes, seq, "done", job.ticket.id))

    while events:
        now, _, kind, ticket_id = heapq.heappop(events)
        at = _EPOCH + timedelta(minutes=now)
        if kind == "arrive":
            assignment = board.route(by_id[ticket_id].ticket, now=at)
            if assignment.queued:
                queued += 1
                continue
            state = states[assignment.agent_id]  # type: ignore[index]
            state.backlog.append(by_id[ticket_id])
            start_next(state)
        else:
            agent_id = board.release(ticket_id)
            assert agent_id is not None
            state = states[agent_id]
            state.busy = False
            while (pulled := board.pull_next(agent_id, now=at)) is not None:
                state.backlog.append(by_id[pulled.ticket_id])
            start_next(state)

    end = max(now, 1e-9)
    attainment = {}
    for prio in PRIORITY_MIX:
        rows = [t for t in tickets if t.ticket.priority == prio]
        if rows:
            met = sum(frt[t.ticket.id] * 60 <= _target_seconds(sla, t.ticket) for t in rows)
            attainment[prio] = met / len(rows)
    values = sorted(frt.values()) or [0.0]
    return PolicyResult(
        label=label or str(strategy),
        tickets=len(tickets),
        attainment=attainment,
        mean_frt=statistics.fmean(values),
        p90_frt=values[min(len(values) - 1, math.ceil(0.9 * len(values)) - 1)],
        utilisation={a: s.busy_time / end for a, s in states.items()},
        queued_share=queued / max(len(tickets), 1),
    )


def _target_seconds(sla: SlaPolicy, ticket: Ticket) -> float:
    target = sla.target_for(priority=ticket.priority, tier=ticket.tier, category=ticket.category)
    return target.first_response.total_seconds()


BUSINESS_DAY_MIN = 8 * 60


def compare_policies(
    *,
    agents: Sequence[Agent],
    policy: RoutingPolicy,
    sla: SlaPolicy,
    mix: Mapping[str, float],
    load: float = 0.85,
    days: float = 20,
    seed: int = 7,
    strategies: Sequence[Strategy] = (Strategy.ROUND_ROBIN, Strategy.SKILLS),
    what_if: Sequence[Agent] | None = None,
    what_if_label: str = "what-if",
) -> list[PolicyResult]:
    """Simulate each strategy on the same seeded ticket stream, optionally also on a what-if roster.

    The arrival rate is set so that the *base* roster runs at ``load`` if every ticket went to an expert
    (``rate = load × agents / mean handling time``); a what-if roster faces the same stream.

    Args:
        agents: Base roster.
        policy: Routing rules.
        sla: SLA matrix.
        mix: Category shares (labels of the taxonomy).
        load: Offered load of the base roster, e.g. 0.85.
        days: Simulated business days of arrivals (8 h each).
        seed: Random seed; the same seed gives the same table.
        strategies: Strategies to compare.
        what_if: An alternative roster (e.g. base plus one network engineer).
        what_if_label: Suffix for the what-if rows.

    Returns:
        One result per strategy (and per strategy on the what-if roster).
    """
    if not 0 < load < 2:
        raise ValueError(f"load must be in (0, 2), got {load}")
    rate = load * len(agents) / MEAN_HANDLING_MIN
    tickets = generate_tickets(mix=mix, rate_per_min=rate, horizon_min=days * BUSINESS_DAY_MIN, seed=seed)
    results = [simulate(tickets, agents, policy, sla, strategy=s, label=str(s)) for s in strategies]
    if what_if is not None:
        results += [
            simulate(tickets, what_if, policy, sla, strategy=s, label=f"{s} ({what_if_label})") for s in strategies
        ]
    return results
