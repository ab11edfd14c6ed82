"""Agent presence: an agent who goes away or offline hands their open tickets back, and they are routed again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from triage.domain.access import Principal
from triage.domain.agents import AgentStatus
from triage.domain.desk import RoutingConfig
from triage.domain.routing import Assignment
from triage.kernel.errors import NotFound, PermissionDenied
from triage.kernel.vocabulary import Role, TicketStatus
from triage.ports import UnitOfWork
from triage.services import dispatch
from triage.services.audit import record, snapshot
from triage.services.sla import update_clock


def set_presence(
    start: Callable[[], UnitOfWork],
    desk: RoutingConfig,
    principal: Principal,
    agent_id: str,
    status: AgentStatus | None,
    *,
    now: datetime,
) -> list[Assignment]:
    """Override an agent's presence (``None`` follows the shifts again); away/offline hands their tickets back.

    Returns:
        The new assignment of every ticket handed back.

    Raises:
        NotFound: no such agent. PermissionDenied: an agent changing someone else, or a manager of another team.
    """
    agent = desk.agent(agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id!r} on the roster")
    allowed = (
        principal.role is Role.ADMIN
        or (principal.role is Role.AGENT and principal.agent_id == agent_id)
        or (principal.role is Role.MANAGER and agent.team in principal.teams)
    )
    if not allowed:
        raise PermissionDenied(f"{principal.role.value} keys may not change the presence of {agent_id}")
    moved = []
    with start() as uow:
        uow.presence.set_presence(agent_id, status)
        record(uow, actor=principal, action="presence", at=now, after={"agent_id": agent_id,
               "presence": status.value if status else None})  # fmt: skip
        if status in (AgentStatus.AWAY, AgentStatus.OFFLINE):
            for ticket in uow.tickets.open_for_agent(agent_id):
                before = snapshot(ticket, ("status", "team", "assignee"))
                dispatch.release(uow, ticket)
                ticket.assignee = None
                if ticket.status is TicketStatus.PENDING_CUSTOMER:  # waiting on the customer: stays in its queue
                    reason = f"handed back by {agent_id} ({status.value}) while waiting on the customer"
                    assignment = Assignment(ticket.id, ticket.team or desk.taxonomy.triage_queue, None, (reason,))
                    ticket.assignment_reasons = assignment.reasons
                else:
                    assignment = dispatch.route(uow, desk, ticket, now=now, exclude=frozenset({agent_id}))
                update_clock(uow, desk, ticket, lambda c: None, now=now)  # new escalation recipients
                ticket.updated_at = now
                uow.tickets.save(ticket)
                record(uow, actor=principal, action="handed-back", at=now, ticket=ticket, before=before,
                       after=snapshot(ticket, ("status", "team", "assignee")))  # fmt: skip
                moved.append(assignment)
        uow.commit()
    return moved
