"""Reading tickets as a caller may see them: one ticket with its thread, SLA and escalations, or a filtered page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from triage.domain.access import Principal, scope_of
from triage.domain.desk import RoutingConfig
from triage.domain.escalation import EscalationEvent
from triage.domain.sla import SlaStanding, standing
from triage.domain.ticket import Ticket
from triage.kernel.errors import InvalidRequest
from triage.ports import AuditEntry, Message, StoredAttachment, TicketFilter, TicketPage, UnitOfWork
from triage.services.lifecycle import visible_ticket
from triage.services.sla import load_clock

MAX_PAGE = 200


@dataclass(frozen=True)
class SlaStatus:
    """Where a ticket stands against its SLA targets."""

    first_response_due: datetime | None
    resolution_due: datetime | None
    breached: bool
    ever_breached: bool
    paused: bool
    cycle: int
    calendar: str
    escalations: tuple[EscalationEvent, ...]
    standing: SlaStanding


@dataclass(frozen=True)
class TicketDetails:
    """A ticket with everything an agent needs to work it."""

    ticket: Ticket
    sla: SlaStatus | None
    thread: tuple[Message, ...]
    attachments: tuple[StoredAttachment, ...] = ()


def sla_status(uow: UnitOfWork, desk: RoutingConfig, ticket: Ticket, *, now: datetime) -> SlaStatus | None:
    """The ticket's SLA position, or ``None`` before triage started its clock."""
    loaded = load_clock(uow, desk, ticket)
    if loaded is None:
        return None
    clock, _ = loaded
    return SlaStatus(
        first_response_due=clock.due_at("first_response"),
        resolution_due=clock.due_at("resolution"),
        breached=clock.breached(now),
        ever_breached=clock.ever_breached(now),
        paused=clock.paused,
        cycle=clock.cycle.number,
        calendar=clock.calendar.name,
        escalations=tuple(uow.sla.escalations(ticket.id)),
        standing=standing(clock, now, warn_at=desk.warning_share()),
    )


def ticket_details(
    start: Callable[[], UnitOfWork], desk: RoutingConfig, principal: Principal, number: str, *, now: datetime
) -> TicketDetails:
    """One ticket, if the caller may see it (else :class:`~triage.kernel.errors.NotFound`)."""
    with start() as uow:
        ticket = visible_ticket(uow, principal, number)
        return TicketDetails(ticket, sla_status(uow, desk, ticket, now=now), tuple(uow.messages.thread(number)),
                             tuple(uow.attachments.of(number)))  # fmt: skip


def list_tickets(
    start: Callable[[], UnitOfWork],
    principal: Principal,
    filters: TicketFilter,
    *,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> TicketPage:
    """A page of the tickets the caller may see, newest first.

    Raises:
        InvalidRequest: a limit outside 1..:data:`MAX_PAGE`, or a cursor this service did not issue.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    with start() as uow:
        return uow.tickets.list(scope_of(principal), filters, cursor=cursor, limit=limit, now=now)


def audit_trail(start: Callable[[], UnitOfWork], principal: Principal, number: str) -> list[AuditEntry]:
    """Every change of a ticket the caller may see, oldest first."""
    with start() as uow:
        visible_ticket(uow, principal, number)
        return uow.audit.entries(number)


def my_votes(start: Callable[[], UnitOfWork], principal: Principal, number: str) -> dict[str, bool]:
    """How the caller rated the suggestions of a ticket it may see: ``article id -> helpful``."""
    with start() as uow:
        visible_ticket(uow, principal, number)
        return uow.feedback.votes(number, principal.label)
