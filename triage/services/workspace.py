"""What the console's pages read beyond single tickets: work queues sorted by SLA deadline, tickets at risk, the
triage queue, agents' current load, and the model-drift alerts. The same scope rules as the API apply: a caller
sees only the tickets :func:`~triage.domain.access.scope_of` gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from triage.domain.access import Principal, require_role, scope_of
from triage.domain.agents import AgentStatus
from triage.domain.alerts import Alert, AlertType
from triage.domain.desk import RoutingConfig
from triage.domain.sla import SlaStanding, standing
from triage.domain.ticket import Ticket
from triage.kernel.vocabulary import Role
from triage.ports import AlertFilter, TicketFilter, UnitOfWork

Start = Callable[[], UnitOfWork]
#: Most tickets a queue page lists.
QUEUE_LIMIT = 200
_NO_CLOCK = SlaStanding("none", None, None, 0.0)


@dataclass(frozen=True)
class QueueItem:
    """A ticket in a work queue, with where it stands against its SLA."""

    ticket: Ticket
    sla: SlaStanding


@dataclass(frozen=True)
class AgentLoad:
    """An agent's open tickets against their capacity, and whether they take new work now."""

    agent_id: str
    name: str
    team: str
    load: int
    capacity: int
    status: AgentStatus


def _items(uow: UnitOfWork, desk: RoutingConfig, tickets: list[Ticket], now: datetime) -> list[QueueItem]:
    clocks = uow.sla.clocks([t.id for t in tickets], desk.calendars)
    warn_at = desk.warning_share()
    return [
        QueueItem(t, standing(clocks[t.id], now, warn_at=warn_at) if t.id in clocks else _NO_CLOCK) for t in tickets
    ]


def work_queue(
    start: Start,
    desk: RoutingConfig,
    principal: Principal,
    *,
    mine: bool,
    team: str | None = None,
    now: datetime,
    limit: int = QUEUE_LIMIT,
) -> list[QueueItem]:
    """Open tickets, the soonest SLA deadline first: the caller's own (``mine``) or those of their teams (one team,
    or all of them), including tickets still waiting in a team's queue for an agent."""
    require_role(principal, Role.AGENT, Role.MANAGER, Role.ADMIN, action="read work queues")
    if mine and principal.agent_id is None:
        return []
    filters = TicketFilter(assignee=principal.agent_id) if mine else TicketFilter(team=team)
    with start() as uow:
        return _items(uow, desk, uow.tickets.open_by_due(scope_of(principal), filters, limit=limit), now)


def at_risk(start: Start, desk: RoutingConfig, principal: Principal, *, now: datetime, limit: int = 20) -> list[QueueItem]:
    """Open tickets that breached or are past the warning share of a target, the soonest deadline first
    (already breached ones lead, most overdue first)."""
    queue = work_queue(start, desk, principal, mine=False, now=now, limit=QUEUE_LIMIT)
    return [item for item in queue if item.sla.state in ("breached", "warning")][:limit]


def triage_queue(start: Start, desk: RoutingConfig, principal: Principal, *, now: datetime) -> list[QueueItem]:
    """Tickets waiting for a person to classify them (abstained, out of scope, unmapped or failed triage)."""
    return work_queue(start, desk, principal, mine=False, team=desk.taxonomy.triage_queue, now=now)


def agent_loads(start: Start, desk: RoutingConfig, principal: Principal, *, now: datetime) -> list[AgentLoad]:
    """Current load of the agents of the caller's teams (all for admins), the fullest first."""
    require_role(principal, Role.MANAGER, Role.ADMIN, action="read agents' load")
    agents = [a for a in desk.agents if principal.role is Role.ADMIN or a.team in principal.teams]
    with start() as uow:
        loads = uow.agents.loads([a.id for a in agents])
        presence = uow.presence.presence()
    rows = [
        AgentLoad(a.id, a.name, a.team, loads.get(a.id, 0), a.capacity, presence.get(a.id) or a.status_at(now))
        for a in agents
    ]
    return sorted(rows, key=lambda r: (-r.load / max(r.capacity, 1), r.agent_id))


def drift_alerts(start: Start, principal: Principal, *, limit: int = 10) -> list[Alert]:
    """The latest model-drift alerts, newest first. Drift concerns every team, so every manager sees them."""
    require_role(principal, Role.MANAGER, Role.ADMIN, action="read model drift")
    with start() as uow:
        found = uow.alerts.list(AlertFilter(type=AlertType.MODEL_DRIFT), teams=None, limit=1000)  # one a day at most
    return sorted(found, key=lambda a: -(a.id or 0))[:limit]
