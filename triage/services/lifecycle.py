"""What agents and managers do with a ticket: work it, reply, wait, resolve, close, reopen, reassign, classify,
merge, split off sub-tasks, and record CSAT. Every change is audited and keeps the SLA clock in step.

A ticket outside the caller's scope does not exist for it (:class:`NotFound`); an illegal status change is an
:class:`IllegalTransition` that lists the allowed ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from triage.domain.access import Principal, can_see, require_role
from triage.domain.desk import RoutingConfig
from triage.domain.routing import Assignment
from triage.domain.taxonomy import split_label
from triage.domain.ticket import Customer, Ticket
from triage.kernel.errors import Conflict, IllegalTransition, InvalidTicket, NotFound
from triage.kernel.vocabulary import MessageKind, Priority, Role, TicketStatus, TriageState
from triage.ports import Correction, Message, UnitOfWork
from triage.services import dispatch
from triage.services.audit import record, snapshot
from triage.services.intake import NewTicket, submit
from triage.services.sla import update_clock

KB_INGEST_JOB = "kb_ingest"
MESSAGE_SENTIMENT_JOB = "message_sentiment"
KB_FEEDBACK_JOB = "kb_feedback"
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.\-]+)")
_WORKERS = (Role.AGENT, Role.MANAGER, Role.ADMIN)
_STATUS_FIELDS = ("status", "team", "assignee")

Start = Callable[[], UnitOfWork]


def visible_ticket(uow: UnitOfWork, principal: Principal, number: str, *, for_update: bool = False) -> Ticket:
    """The ticket if the caller may see it.

    Raises:
        NotFound: no such ticket, or not in the caller's scope (the same answer, so existence does not leak).
    """
    ticket = uow.tickets.get(number, for_update=for_update)
    if ticket is None or not can_see(principal, ticket):
        raise NotFound(f"no ticket {number}")
    return ticket


def _workable(uow: UnitOfWork, principal: Principal, number: str, action: str) -> Ticket:
    require_role(principal, *_WORKERS, action=action)
    return visible_ticket(uow, principal, number, for_update=True)


def _save(uow: UnitOfWork, ticket: Ticket, now: datetime) -> None:
    ticket.updated_at = now
    uow.tickets.save(ticket)


def mentions(text: str) -> tuple[str, ...]:
    """``@name`` mentions in a note, in order, without repeats."""
    return tuple(dict.fromkeys(MENTION.findall(text)))


def change_status(
    start: Start, desk: RoutingConfig, principal: Principal, number: str, status: TicketStatus, *, now: datetime
) -> Ticket:
    """Move a ticket through its lifecycle, with the SLA side effects of each move.

    ``in_progress`` accepts the ticket (and, from ``pending_customer``, resumes the clock; from ``resolved``,
    reopens it in a new cycle); ``pending_customer`` pauses the clock; ``resolved`` stops it (see also
    :func:`resolve`, which also files the solution); ``closed`` is final.

    Raises:
        IllegalTransition: the lifecycle does not allow it (lists the allowed statuses).
    """
    if status is TicketStatus.RESOLVED:
        return resolve(start, desk, principal, number, solution=None, now=now)
    with start() as uow:
        ticket = _workable(uow, principal, number, "change a ticket's status")
        before = snapshot(ticket, _STATUS_FIELDS)
        previous = ticket.status
        if status is TicketStatus.IN_PROGRESS and previous is TicketStatus.RESOLVED:
            _reopen(uow, desk, ticket, now=now)
        else:
            ticket.move_to(status)
        if status is TicketStatus.IN_PROGRESS:
            ticket.accepted_at = ticket.accepted_at or now
            if ticket.assignee is None and principal.agent_id is not None:
                _take(uow, desk, ticket, principal.agent_id)
            update_clock(uow, desk, ticket, lambda c: (c.resume(now), c.accept(now)), now=now)
        elif status is TicketStatus.PENDING_CUSTOMER:
            update_clock(uow, desk, ticket, lambda c: c.pause(now), now=now)
        elif status is TicketStatus.NEW:
            dispatch.release(uow, ticket)
            ticket.assignee = None
        elif status is TicketStatus.CLOSED:
            ticket.closed_at = now
        _save(uow, ticket, now)
        record(uow, actor=principal, action="status", at=now, ticket=ticket, before=before,
               after=snapshot(ticket, _STATUS_FIELDS))  # fmt: skip
        uow.commit()
        return ticket


def _take(uow: UnitOfWork, desk: RoutingConfig, ticket: Ticket, agent_id: str) -> None:
    agent = desk.agent(agent_id)
    if agent is None or not uow.agents.claim(agent_id, agent.capacity):
        raise Conflict(f"agent {agent_id} is at capacity or not on the roster; finish or hand back a ticket first")
    ticket.assignee = agent_id
    ticket.team = ticket.team or agent.team
    ticket.assignment_reasons = (f"taken by {agent_id}",)


def _reopen(uow: UnitOfWork, desk: RoutingConfig, ticket: Ticket, *, now: datetime) -> None:
    """A resolved ticket comes back: new SLA cycle, same agent if they have room, else routed again."""
    ticket.move_to(TicketStatus.IN_PROGRESS)
    ticket.resolved_at = None
    ticket.reopen_count += 1
    update_clock(uow, desk, ticket, lambda c: c.reopen(now), now=now)
    agent = desk.agent(ticket.assignee) if ticket.assignee else None
    if agent is not None and uow.agents.claim(agent.id, agent.capacity):
        ticket.assignment_reasons = (f"reopened: back to {agent.id}",)
        return
    ticket.assignee = None
    dispatch.route(uow, desk, ticket, now=now)


def add_message(
    start: Start, desk: RoutingConfig, principal: Principal, number: str, *, kind: MessageKind, body: str, now: datetime
) -> Message:
    """Add to a ticket's thread.

    A ``reply`` is the agent's answer to the customer: the first one stops the first-response clock. A
    ``customer`` message wakes a ticket waiting on the customer, and reopens a resolved one. A ``note`` is internal;
    its ``@mentions`` are recorded.

    Raises:
        InvalidTicket: empty body, or a closed ticket (a customer writing after close starts a new ticket).
    """
    _check_message(kind, body)
    with start() as uow:
        ticket = (_workable(uow, principal, number, "write on a ticket") if kind is not MessageKind.CUSTOMER
                  else visible_ticket(uow, principal, number, for_update=True))  # fmt: skip
        message = append_message(uow, desk, principal, ticket, kind=kind, body=body, now=now)
        uow.commit()
        return message


def _check_message(kind: MessageKind, body: str) -> None:
    if not body.strip():
        raise InvalidTicket("the message is empty")
    if kind is MessageKind.SYSTEM:
        raise InvalidTicket("system messages are written by the service, not through the API")


def append_message(
    uow: UnitOfWork,
    desk: RoutingConfig,
    principal: Principal,
    ticket: Ticket,
    *,
    kind: MessageKind,
    body: str,
    now: datetime,
    author: str | None = None,
) -> Message:
    """:func:`add_message` inside the caller's transaction (no commit), on a ticket the caller locked and may write on.

    The email channel calls it directly: it checks the sender against the ticket's customer instead of a principal's
    scope, and stores the message with the email's Message-ID and attachments in one transaction.

    Args:
        author: Who the thread names (default: the principal's label), e.g. the customer's email address.

    Raises:
        InvalidTicket: empty body, or a system message. IllegalTransition: the ticket is closed.
    """
    _check_message(kind, body)
    if ticket.status is TicketStatus.CLOSED:
        raise IllegalTransition(ticket.id, ticket.status.value, "in_progress", ())
    before = snapshot(ticket, _STATUS_FIELDS)
    message = Message(ticket.id, kind, author or principal.label, body,
                      mentions(body) if kind is MessageKind.NOTE else (), now)  # fmt: skip
    uow.messages.add(message)
    if kind is MessageKind.REPLY:
        ticket.agent_replies += 1
        if ticket.status in (TicketStatus.NEW, TicketStatus.ASSIGNED):
            ticket.move_to(TicketStatus.IN_PROGRESS)
        clock = update_clock(uow, desk, ticket, lambda c: c.respond(now), now=now)
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            ticket.first_response_s = _seconds(ticket, now)
            ticket.first_response_business_s = clock.elapsed(now, "first_response").total_seconds() if clock else None
    elif kind is MessageKind.CUSTOMER:
        uow.jobs.enqueue(MESSAGE_SENTIMENT_JOB, ticket.id, at=now)  # the worker reads its anger
        if ticket.status is TicketStatus.PENDING_CUSTOMER:
            ticket.move_to(TicketStatus.IN_PROGRESS)
            update_clock(uow, desk, ticket, lambda c: c.resume(now), now=now)
        elif ticket.status is TicketStatus.RESOLVED:
            _reopen(uow, desk, ticket, now=now)
    _save(uow, ticket, now)
    record(uow, actor=principal, action=f"message:{kind.value}", at=now, ticket=ticket, before=before,
           after={**snapshot(ticket, _STATUS_FIELDS), "mentions": list(message.mentions)})  # fmt: skip
    return message


def resolve(
    start: Start, desk: RoutingConfig, principal: Principal, number: str, *, solution: str | None, now: datetime
) -> Ticket:
    """Resolve a ticket; a solution text is filed for the knowledge base (searchable within seconds)."""
    with start() as uow:
        ticket = _workable(uow, principal, number, "resolve tickets")
        before = snapshot(ticket, (*_STATUS_FIELDS, "solution"))
        ticket.move_to(TicketStatus.RESOLVED)
        ticket.resolved_at = now
        if solution and solution.strip():
            ticket.solution = solution.strip()
            uow.jobs.enqueue(KB_INGEST_JOB, ticket.id, at=now)
        clock = update_clock(uow, desk, ticket, lambda c: c.resolve(now), now=now)
        ticket.handling_s = _seconds(ticket, now)
        if clock is not None:
            ticket.handling_business_s = sum(
                c.stopped["resolution"][1].total_seconds() for c in clock.cycles if "resolution" in c.stopped
            )
            ticket.sla_breached = clock.ever_breached(now)
        dispatch.release(uow, ticket)
        _save(uow, ticket, now)
        record(uow, actor=principal, action="resolved", at=now, ticket=ticket, before=before,
               after=snapshot(ticket, (*_STATUS_FIELDS, "solution")))  # fmt: skip
        uow.commit()
        return ticket


def reassign(
    start: Start,
    desk: RoutingConfig,
    principal: Principal,
    number: str,
    *,
    agent_id: str | None,
    team: str | None,
    now: datetime,
) -> Ticket:
    """Give a ticket to an agent, to a team's queue, or (neither) back to routing.

    Raises:
        InvalidTicket: unknown agent or team. Conflict: the agent is at capacity.
    """
    with start() as uow:
        ticket = _workable(uow, principal, number, "reassign tickets")
        if not ticket.is_open:
            raise IllegalTransition(ticket.id, ticket.status.value, "assigned", ())
        before = snapshot(ticket, _STATUS_FIELDS)
        dispatch.release(uow, ticket)
        previous = ticket.assignee
        ticket.assignee = None
        if agent_id is not None:
            agent = desk.agent(agent_id)
            if agent is None:
                raise InvalidTicket(f"no agent {agent_id!r} on the roster")
            _take(uow, desk, ticket, agent_id)
            ticket.team = team or agent.team
            ticket.assignment_reasons = (f"reassigned to {agent_id} by {principal.label}",)
            if ticket.status is TicketStatus.NEW:
                ticket.move_to(TicketStatus.ASSIGNED)
        elif team is not None:
            if team not in desk.teams:
                raise InvalidTicket(f"no team {team!r}; known: {', '.join(desk.teams)}")
            dispatch.apply_assignment(ticket, Assignment(ticket.id, team, None, (f"moved to {team} by {principal.label}",)),
                                      now=now)  # fmt: skip
        else:
            dispatch.route(uow, desk, ticket, now=now, exclude=frozenset({previous}) if previous else frozenset())
        update_clock(uow, desk, ticket, lambda c: None, now=now)  # recipients changed
        ticket.rerouted = ticket.rerouted or ticket.team != before["team"]
        _save(uow, ticket, now)
        record(uow, actor=principal, action="reassigned", at=now, ticket=ticket, before=before,
               after=snapshot(ticket, _STATUS_FIELDS))  # fmt: skip
        uow.commit()
        return ticket


def classify(
    start: Start,
    desk: RoutingConfig,
    principal: Principal,
    number: str,
    *,
    category: str | None,
    priority: Priority | None,
    now: datetime,
) -> Ticket:
    """A person sets the category and/or priority (the triage queue's job, or a correction), then it is routed.

    Raises:
        InvalidTicket: a category the taxonomy does not route.
    """
    if category is None and priority is None:
        raise InvalidTicket("send a category, a priority or both")
    if category is not None:
        try:
            split_label(category)
        except ValueError as exc:
            raise InvalidTicket(str(exc)) from None
        if desk.taxonomy.route_for(category) is None:
            known = ", ".join(c.path for c in desk.taxonomy.leaves())
            raise InvalidTicket(f"category {category!r} has no route in the taxonomy; known: {known}")
    with start() as uow:
        ticket = _workable(uow, principal, number, "classify tickets")
        if not ticket.is_open:
            raise IllegalTransition(ticket.id, ticket.status.value, "classified", ())
        fields = (*_STATUS_FIELDS, "category", "priority")
        before = snapshot(ticket, fields)
        ticket.category = category or ticket.category
        ticket.priority = priority or ticket.priority
        ticket.triage_state = TriageState.DONE
        reroute = category is not None and category != before["category"]
        if reroute and ticket.status in (TicketStatus.NEW, TicketStatus.ASSIGNED):
            dispatch.release(uow, ticket)
            ticket.assignee = None
            dispatch.route(uow, desk, ticket, now=now)
        if priority is not None and priority != before["priority"]:
            target = desk.sla.target_for(priority=ticket.priority, tier=ticket.tier, category=ticket.category)
            update_clock(uow, desk, ticket, lambda c: setattr(c, "target", target), now=now)
        _record_corrections(uow, ticket, principal, now=now)
        ticket.rerouted = ticket.rerouted or ticket.team != before["team"]
        _save(uow, ticket, now)
        record(uow, actor=principal, action="classified", at=now, ticket=ticket, before=before,
               after=snapshot(ticket, fields))  # fmt: skip
        uow.commit()
        return ticket


def _record_corrections(uow: UnitOfWork, ticket: Ticket, principal: Principal, *, now: datetime) -> None:
    """Store, with the model version, every field a person set differently from what the model decided."""
    decisions = (
        ("category", ticket.category, ticket.predicted_category if not ticket.abstained else None,
         ticket.category_model_version),
        ("priority", ticket.priority, ticket.predicted_priority, ticket.urgency_model_version),
    )  # fmt: skip
    for field, final, predicted, version in decisions:
        if version is None or final is None or str(final) == str(predicted or ""):
            continue
        uow.feedback.add_correction(Correction(number=ticket.id, field=field, model_version=version,
                                               predicted=str(predicted) if predicted else None, corrected=str(final),
                                               actor=principal.label, created_at=now))  # fmt: skip


def rate_suggestion(
    start: Start, principal: Principal, number: str, *, article_id: str, helpful: bool, now: datetime
) -> bool:
    """An agent rates a suggested answer; the vote reaches the article's effectiveness in the knowledge base.

    Returns:
        Whether the vote changed anything (the same vote twice counts once).

    Raises:
        InvalidTicket: the article was not suggested for this ticket.
    """
    with start() as uow:
        ticket = _workable(uow, principal, number, "rate suggestions")
        suggested = {s["article_id"] for s in (ticket.triage or {}).get("suggestions", [])}
        if article_id not in suggested:
            raise InvalidTicket(f"article {article_id!r} was not suggested for ticket {number}")
        changed = uow.feedback.rate_suggestion(number, article_id, helpful=helpful, actor=principal.label, at=now)
        if changed:
            uow.jobs.enqueue(KB_FEEDBACK_JOB, number, at=now)
            record(uow, actor=principal, action="suggestion-rated", at=now, ticket=ticket,
                   after={"article_id": article_id, "helpful": helpful})  # fmt: skip
        uow.commit()
        return changed


def _seconds(ticket: Ticket, now: datetime) -> float | None:
    return (now - ticket.created_at).total_seconds() if ticket.created_at else None


def set_csat(start: Start, principal: Principal, number: str, *, score: int, now: datetime) -> Ticket:
    """Record the customer's satisfaction (1-5) once the ticket is resolved or closed.

    Raises:
        InvalidTicket: a score outside 1-5. IllegalTransition: the ticket is still open.
    """
    if not 1 <= score <= 5:
        raise InvalidTicket(f"CSAT must be between 1 and 5, got {score}")
    with start() as uow:
        ticket = visible_ticket(uow, principal, number, for_update=True)
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise IllegalTransition(ticket.id, ticket.status.value, "rated", ("resolved", "closed"))
        before = {"csat": ticket.csat}
        ticket.csat = score
        _save(uow, ticket, now)
        record(uow, actor=principal, action="csat", at=now, ticket=ticket, before=before, after={"csat": score})
        uow.commit()
        return ticket


def merge(start: Start, desk: RoutingConfig, principal: Principal, number: str, *, into: str, now: datetime) -> Ticket:
    """Close ``number`` as a duplicate of ``into``; both threads say so.

    Raises:
        InvalidTicket: merging a ticket into itself. NotFound: either ticket is not visible.
    """
    if number == into:
        raise InvalidTicket("a ticket cannot be merged into itself")
    with start() as uow:
        duplicate = _workable(uow, principal, number, "merge tickets")
        target = visible_ticket(uow, principal, into)
        if not duplicate.is_open:
            raise IllegalTransition(duplicate.id, duplicate.status.value, "merged", ())
        before = snapshot(duplicate, (*_STATUS_FIELDS, "merged_into"))
        duplicate.merged_into = target.id
        duplicate.move_to(TicketStatus.RESOLVED)
        duplicate.move_to(TicketStatus.CLOSED)
        duplicate.resolved_at = duplicate.closed_at = now
        update_clock(uow, desk, duplicate, lambda c: c.resolve(now), now=now)
        dispatch.release(uow, duplicate)
        for ticket, text in ((duplicate, f"merged into {target.id}"), (target, f"{duplicate.id} was merged into this ticket")):
            uow.messages.add(Message(ticket.id, MessageKind.SYSTEM, principal.label, text, (), now))
        _save(uow, duplicate, now)
        record(uow, actor=principal, action="merged", at=now, ticket=duplicate, before=before,
               after=snapshot(duplicate, (*_STATUS_FIELDS, "merged_into")))  # fmt: skip
        uow.commit()
        return duplicate


def create_subtask(
    start: Start,
    desk: RoutingConfig,
    principal: Principal,
    number: str,
    *,
    team: str,
    subject: str,
    body: str,
    now: datetime,
) -> Ticket:
    """Open a sub-task of ``number`` in another team's queue; it is triaged like any ticket and linked to its parent.

    Raises:
        InvalidTicket: unknown team.
    """
    require_role(principal, *_WORKERS, action="create sub-tasks")
    if team not in desk.teams:
        raise InvalidTicket(f"no team {team!r}; known: {', '.join(desk.teams)}")
    with start() as uow:
        parent = visible_ticket(uow, principal, number)
    child, _ = submit(
        start,
        NewTicket(subject=subject, body=body, channel=parent.channel,
                  customer=Customer(parent.customer.id, parent.customer.tier, parent.customer.email)),
        principal=principal, now=now, parent=parent.id, team=team,
    )  # fmt: skip
    with start() as uow:
        uow.messages.add(Message(parent.id, MessageKind.SYSTEM, principal.label, f"sub-task {child.id} for {team}", (), now))
        record(uow, actor=principal, action="subtask", at=now, ticket=parent, after={"subtask": child.id, "team": team})
        uow.commit()
    return child
