"""Routing tickets with the state kept in the database: agent loads, assignment order and presence.

Several API and worker processes can route at once: the agent-load store's conditional claim is the arbiter, so
an agent is never filled beyond capacity, and a ticket is routed inside the transaction that stores the result.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from triage.domain.desk import RoutingConfig
from triage.domain.routing import Assignment
from triage.domain.ticket import Ticket
from triage.kernel.vocabulary import TicketStatus
from triage.ports import UnitOfWork
from triage.services.routing_board import claim_assignment


def route(
    uow: UnitOfWork,
    desk: RoutingConfig,
    ticket: Ticket,
    *,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
    team: str | None = None,
) -> Assignment:
    """Find the agent for ``ticket`` (or its queue) and record the assignment on the ticket.

    Args:
        uow: The open unit of work; the slot claim commits with it.
        desk: Roster, policy and taxonomy.
        ticket: A triaged ticket (``category``/``priority`` set, or empty when a person must classify it).
        now: The routing instant (shifts decide who is online).
        exclude: Agents not to consider (the one a ticket is taken from).
        team: Only this team's agents, and its queue (a sub-task for another team).
    """
    overrides = uow.presence.presence()
    agents = [
        replace(a, presence=overrides.get(a.id))
        for a in desk.agents
        if a.id not in exclude and (team is None or a.team == team)
    ]
    assignment = claim_assignment(ticket, agents, desk.policy, uow.agents, now=now)
    if team is not None and assignment.team != team:
        assignment = replace(assignment, team=team, reasons=(*assignment.reasons, f"sub-task for team {team}"))
    apply_assignment(ticket, assignment, now=now)
    return assignment


def apply_assignment(ticket: Ticket, assignment: Assignment, *, now: datetime) -> None:
    """Record an assignment on the ticket: team, agent, reasons, and the status that goes with them."""
    ticket.team = assignment.team
    ticket.assignee = assignment.agent_id
    ticket.assignment_reasons = assignment.reasons
    ticket.updated_at = now
    if assignment.agent_id is not None and ticket.status is TicketStatus.NEW:
        ticket.move_to(TicketStatus.ASSIGNED)
    elif assignment.agent_id is None and ticket.status in (TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS):
        ticket.move_to(TicketStatus.NEW)


def release(uow: UnitOfWork, ticket: Ticket) -> None:
    """Give the assignee's slot back (the ticket was resolved, merged or moved)."""
    if ticket.assignee is not None:
        uow.agents.release(ticket.assignee)
