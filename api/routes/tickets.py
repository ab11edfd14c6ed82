"""Tickets: intake (one or a batch), reading, listing, and the lifecycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import PrincipalDep, ServiceDep
from api.errors import COMMON_ERRORS, CONFLICT, NOT_FOUND
from api.schemas import (
    AuditEntryPublic,
    BatchItemPublic,
    ClassifyRequest,
    CsatRequest,
    MergeRequest,
    MessageCreate,
    MessagePublic,
    RatingPublic,
    ReassignRequest,
    ResolveRequest,
    StatusChange,
    SubtaskCreate,
    SuggestionRating,
    TicketCreate,
    TicketPublic,
    TicketsBatchCreate,
    TicketsBatchPublic,
    TicketsPublic,
    audit_public,
    details_public,
    message_public,
    ticket_public,
)
from triage.adapters.bootstrap import Service
from triage.domain.access import Principal
from triage.domain.ticket import Customer
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import MessageKind, Priority, TicketStatus, TriageState
from triage.ports import TicketFilter
from triage.services import intake, lifecycle, queries

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=COMMON_ERRORS)

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Retries with the same key return the same ticket."),
]


def _new_ticket(body: TicketCreate) -> intake.NewTicket:
    customer = Customer(id=body.customer.id, tier=body.customer.tier, email=body.customer.email)
    return intake.NewTicket(subject=body.subject, body=body.body, channel=body.channel, customer=customer,
                            language=body.language)  # fmt: skip


def _details(service: Service, principal: Principal, number: str, *, with_thread: bool = False) -> TicketPublic:
    found = queries.ticket_details(service.read, service.desk, principal, number, now=utc_now())
    return details_public(found, with_thread=with_thread)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketPublic,
    responses={200: {"model": TicketPublic, "description": "A replay of an earlier request with the same key."},
               409: {"description": "The Idempotency-Key was used before with another body."}},
)  # fmt: skip
async def create_ticket(
    body: TicketCreate, request: Request, response: Response, service: ServiceDep, principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> TicketPublic:  # fmt: skip
    """Submit a ticket: stored and numbered at once, triaged and routed within seconds (waits up to
    `TRIAGE_TRIAGE_WAIT_SECONDS` for the triage, else answers with `triage_state: pending`)."""
    new = _new_ticket(body)
    ticket, created = await run_in_threadpool(
        intake.submit, service.start, new, principal=principal, now=utc_now(), idempotency_key=idempotency_key
    )
    if created:
        waiters = request.app.state.waiters
        future = waiters.register(ticket.id)
        if service.worker is not None:
            service.worker.wake()
        await waiters.wait(future, service.settings.triage_wait_seconds)
        waiters.forget(ticket.id, future)
    else:
        response.status_code = status.HTTP_200_OK
    return await run_in_threadpool(_details, service, principal, ticket.id)


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=TicketsBatchPublic)
def create_tickets(body: TicketsBatchCreate, service: ServiceDep, principal: PrincipalDep) -> TicketsBatchPublic:
    """Submit many tickets (e.g. a legacy export); each is stored and queued, triage follows in the background."""
    news = [_new_ticket(item) for item in body.tickets]
    items = []
    for new in news:
        ticket, created = intake.submit(service.start, new, principal=principal, now=utc_now())
        items.append(BatchItemPublic(created=created, ticket=ticket_public(ticket)))
    if service.worker is not None:
        service.worker.wake()
    return TicketsBatchPublic(items=items)


@router.get("", response_model=TicketsPublic)
def list_tickets(
    service: ServiceDep,
    principal: PrincipalDep,
    status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    priority: Priority | None = None,
    breached: bool | None = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    triage_state: TriageState | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
) -> TicketsPublic:
    """Tickets this key may see, newest first, with filters and cursor pagination."""
    filters = TicketFilter(status=status_, team=team, priority=priority, breached=breached, assignee=assignee,
                           triage_state=triage_state)  # fmt: skip
    page = queries.list_tickets(service.read, principal, filters, cursor=cursor, limit=limit, now=utc_now())
    return TicketsPublic(tickets=[ticket_public(t) for t in page.tickets], next_cursor=page.next_cursor)


@router.get("/{number}", response_model=TicketPublic, responses=NOT_FOUND)
def get_ticket(number: str, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """One ticket with its triage, assignment, SLA and thread."""
    return _details(service, principal, number, with_thread=True)


@router.get("/{number}/audit", response_model=list[AuditEntryPublic], responses=NOT_FOUND)
def get_audit(number: str, service: ServiceDep, principal: PrincipalDep) -> list[AuditEntryPublic]:
    """Every change of the ticket: who, what, when, before and after."""
    return [audit_public(e) for e in queries.audit_trail(service.read, principal, number)]


@router.post("/{number}/status", response_model=TicketPublic, responses={**NOT_FOUND, **CONFLICT})
def change_status(number: str, body: StatusChange, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Move the ticket through its lifecycle (an illegal move is a 409 naming the allowed ones)."""
    lifecycle.change_status(service.start, service.desk, principal, number, body.status, now=utc_now())
    return _details(service, principal, number)


@router.post("/{number}/messages", status_code=201, response_model=MessagePublic, responses={**NOT_FOUND, **CONFLICT})
def add_message(number: str, body: MessageCreate, service: ServiceDep, principal: PrincipalDep) -> MessagePublic:
    """A reply to the customer, an internal note (with @mentions) or the customer's own message."""
    message = lifecycle.add_message(service.start, service.desk, principal, number, kind=body.kind, body=body.body,
                                    now=utc_now())  # fmt: skip
    if body.kind is MessageKind.CUSTOMER and service.worker is not None:
        service.worker.wake()  # the worker reads the message's anger
    return message_public(message)


@router.post("/{number}/resolve", response_model=TicketPublic, responses={**NOT_FOUND, **CONFLICT})
def resolve(number: str, body: ResolveRequest, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Resolve; the solution enters the knowledge base within seconds."""
    lifecycle.resolve(service.start, service.desk, principal, number, solution=body.solution, now=utc_now())
    if service.worker is not None:
        service.worker.wake()
    return _details(service, principal, number)


@router.post("/{number}/assign", response_model=TicketPublic, responses={**NOT_FOUND, **CONFLICT})
def reassign(number: str, body: ReassignRequest, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Give the ticket to an agent or a team's queue, or (empty body) route it again."""
    lifecycle.reassign(service.start, service.desk, principal, number, agent_id=body.agent_id, team=body.team,
                       now=utc_now())  # fmt: skip
    return _details(service, principal, number)


@router.post("/{number}/classify", response_model=TicketPublic, responses={**NOT_FOUND, **CONFLICT})
def classify(number: str, body: ClassifyRequest, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Set the category and/or priority by hand (the triage queue's work, or a correction); the ticket is routed."""
    lifecycle.classify(service.start, service.desk, principal, number, category=body.category, priority=body.priority,
                       now=utc_now())  # fmt: skip
    return _details(service, principal, number)


@router.post("/{number}/corrections", response_model=TicketPublic, responses={**NOT_FOUND, **CONFLICT})
def correct(number: str, body: ClassifyRequest, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Correct what the models decided (category and/or priority); stored with the model version it corrects."""
    return classify(number, body, service, principal)


@router.post("/{number}/suggestions/{article_id}/feedback", response_model=RatingPublic, responses=NOT_FOUND)
def rate_suggestion(
    number: str, article_id: str, body: SuggestionRating, service: ServiceDep, principal: PrincipalDep
) -> RatingPublic:
    """Mark a suggested answer helpful or not; the vote feeds the article's effectiveness in the knowledge base."""
    counted = lifecycle.rate_suggestion(service.start, principal, number, article_id=article_id, helpful=body.helpful,
                                        now=utc_now())  # fmt: skip
    if counted and service.worker is not None:
        service.worker.wake()
    return RatingPublic(article_id=article_id, helpful=body.helpful, counted=counted)


@router.post("/{number}/csat", response_model=TicketPublic, responses={**NOT_FOUND, **CONFLICT})
def csat(number: str, body: CsatRequest, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Record the customer's satisfaction (1-5) after resolution."""
    lifecycle.set_csat(service.start, principal, number, score=body.score, now=utc_now())
    return _details(service, principal, number)


@router.post("/{number}/merge", response_model=TicketPublic, responses={**NOT_FOUND, **CONFLICT})
def merge(number: str, body: MergeRequest, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Close this ticket as a duplicate of another."""
    lifecycle.merge(service.start, service.desk, principal, number, into=body.into, now=utc_now())
    return _details(service, principal, number)


@router.post("/{number}/subtasks", status_code=201, response_model=TicketPublic, responses=NOT_FOUND)
def create_subtask(number: str, body: SubtaskCreate, service: ServiceDep, principal: PrincipalDep) -> TicketPublic:
    """Open a sub-task for another team, linked to this ticket."""
    child = lifecycle.create_subtask(service.start, service.desk, principal, number, team=body.team,
                                     subject=body.subject, body=body.body, now=utc_now())  # fmt: skip
    if service.worker is not None:
        service.worker.wake()
    return _details(service, principal, child.id)
