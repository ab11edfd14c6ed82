"""Intake: a ticket is stored, numbered and queued for triage before any model looks at it.

Retries with the same idempotency key return the original ticket; a retry whose body differs is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from triage.domain.access import Principal, require_role
from triage.domain.ticket import Customer, Ticket
from triage.kernel.errors import Conflict, InvalidTicket, KeyTaken, NotFound
from triage.kernel.vocabulary import Channel, Role
from triage.ports import UnitOfWork
from triage.services.audit import record

TRIAGE_JOB = "triage"


@dataclass(frozen=True)
class NewTicket:
    """What a submitter sends: already validated for types and lengths at the edge (the API schema)."""

    subject: str
    body: str
    channel: Channel
    customer: Customer
    language: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(p for p in (self.subject.strip(), self.body.strip()) if p)

    def fingerprint(self) -> str:
        """SHA-256 of the request's content: a replayed idempotency key must come with the same one."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()


def submit(
    start: Callable[[], UnitOfWork],
    new: NewTicket,
    *,
    principal: Principal,
    now: datetime,
    idempotency_key: str | None = None,
    parent: str | None = None,
    team: str | None = None,
) -> tuple[Ticket, bool]:
    """Store a ticket, give it its number and queue its triage, in one transaction.

    Args:
        start: Opens a unit of work (a second one is needed when a concurrent request took the same key).
        new: The ticket's content.
        principal: Who submits it (recorded as ``submitted_by``).
        now: The intake instant.
        idempotency_key: Replays with this key return the first ticket instead of creating another.
        parent: A ticket this one is a sub-task of.
        team: Route it within this team only (a sub-task for another team).

    Returns:
        ``(ticket, created)``; ``created`` is ``False`` for an idempotent replay.

    Raises:
        InvalidTicket: neither subject nor body has text.
        Conflict: the key was used before with a different request body.
    """
    require_role(principal, Role.INTAKE, Role.AGENT, Role.MANAGER, Role.ADMIN, action="submit tickets")
    fingerprint = new.fingerprint()
    try:
        with start() as uow:
            return _store(uow, new, principal, now, idempotency_key, fingerprint, parent, team)
    except KeyTaken:  # the racing request has committed by now: its ticket is the answer
        with start() as uow:
            earlier = replay(uow, principal, idempotency_key or "", fingerprint)
            if earlier is None:  # pragma: no cover - the key row exists once KeyTaken was raised
                raise
            return earlier, False


def _store(
    uow: UnitOfWork,
    new: NewTicket,
    principal: Principal,
    now: datetime,
    idempotency_key: str | None,
    fingerprint: str,
    parent: str | None,
    team: str | None,
) -> tuple[Ticket, bool]:
    if idempotency_key is not None:
        earlier = replay(uow, principal, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier, False
    ticket = create(uow, new, principal=principal, now=now, parent=parent, team=team)
    if idempotency_key is not None:
        uow.idempotency.remember(principal.id, idempotency_key, fingerprint, ticket.id, at=now)
    uow.commit()
    return ticket, True


def create(
    uow: UnitOfWork,
    new: NewTicket,
    *,
    principal: Principal,
    now: datetime,
    parent: str | None = None,
    team: str | None = None,
) -> Ticket:
    """Store a ticket, give it its number and queue its triage inside the caller's transaction (no commit).

    :func:`submit` is this plus roles and idempotency; the email channel calls it directly, to store the ticket with
    its attachments and its Message-ID in one transaction.

    Raises:
        InvalidTicket: neither subject nor body has text.
    """
    if not new.text:
        raise InvalidTicket("the ticket has no text: send a subject or a body with some words in it")
    ticket = Ticket(
        id="",
        subject=new.subject,
        body=new.body,
        customer=new.customer,
        channel=new.channel,
        requested_language=new.language,
        created_at=now,
        updated_at=now,
        submitted_by=principal.id,
        parent=parent,
        team=team,
    )
    uow.tickets.add(ticket)
    uow.jobs.enqueue(TRIAGE_JOB, ticket.id, at=now)
    record(uow, actor=principal, action="created", at=now, ticket=ticket,
           after={"channel": ticket.channel.value, "customer_tier": ticket.tier.value})  # fmt: skip
    return ticket


def replay(uow: UnitOfWork, principal: Principal, key: str, fingerprint: str) -> Ticket | None:
    """The ticket an earlier request with ``key`` created, or ``None`` when the key is new.

    Raises:
        Conflict: the earlier request had another body.
    """
    found = uow.idempotency.find(principal.id, key)
    if found is None:
        return None
    earlier_fingerprint, number = found
    if earlier_fingerprint != fingerprint:
        raise Conflict(
            f"Idempotency-Key {key!r} was first used for ticket {number} with a different body; "
            "use a new key for a new ticket, or resend the original body"
        )
    ticket = uow.tickets.get(number)
    if ticket is None:  # pragma: no cover - the foreign key makes this impossible
        raise NotFound(f"ticket {number} of idempotency key {key!r} is gone")
    return ticket
