"""The email channel: an inbound email becomes a ticket, or a customer message on the ticket it answers.

* A person's email becomes a ticket (channel ``email``, the sender as the customer); its attachments are kept as
  metadata (name, type, size).
* A reply whose subject carries a ticket number (``Re: [TKT-2026-000042] VPN drops``) from that ticket's customer
  becomes a ``customer`` message on it, which resumes a ticket waiting on the customer and reopens a resolved one.
  A reply to a closed ticket opens a follow-up ticket linked to it (``parent``); a merged ticket's reply goes to the
  ticket it was merged into. A number that does not exist, or a ticket of another customer, is not written to:
  the email becomes a new ticket (a stranger never writes into someone's ticket).
* Automatic mail (auto-replies, bounces, lists, our own address) is dropped, so the help desk never talks to a
  machine or to itself.
* Each email is filed once: its Message-ID is the idempotency key of the email channel's principal, stored in the
  same transaction as the ticket or message and the attachments, so a redelivery finds it (even a concurrent one).

The channel acts as :data:`EMAIL_CHANNEL`, an ``intake`` principal: the tickets it creates are visible to the roles
that see them by team or assignment and to admins, never to API intake keys (which see only their own). It never
reads tickets for anyone; it writes on an existing one only when the sender is that ticket's customer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from triage.domain.access import Principal
from triage.domain.desk import RoutingConfig
from triage.domain.mail import InboundMail, parse_mail
from triage.domain.ticket import Customer, Ticket
from triage.kernel.errors import Conflict, KeyTaken
from triage.kernel.vocabulary import Channel, MessageKind, Role, TicketStatus
from triage.ports import Message, UnitOfWork
from triage.services import intake
from triage.services.audit import record
from triage.services.lifecycle import append_message

#: Who files email: the ``submitted_by`` of email tickets and the scope of the Message-ID idempotency keys.
EMAIL_CHANNEL = Principal(id="channel:email", role=Role.INTAKE, name="email")
#: How many merges a reply follows to find the ticket that lives on.
_MAX_MERGE_HOPS = 5


class MailAction(enum.StrEnum):
    """What became of an accepted email."""

    CREATED = "created"  # a new ticket
    REPLIED = "replied"  # a customer message on the ticket it answers
    FOLLOW_UP = "follow_up"  # a new ticket linked to the closed one it answers
    DUPLICATE = "duplicate"  # this Message-ID was filed before: nothing new
    IGNORED = "ignored"  # automatic mail, dropped


@dataclass(frozen=True)
class MailOutcome:
    """What :func:`receive` did with an email: the action, the ticket it touched, and why (for logs)."""

    action: MailAction
    number: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class MailPolicy:
    """The channel's settings.

    Attributes:
        address: The help desk's address; mail from it (or naming it in ``X-Loop``) is a loop.
        max_attachment_bytes: Largest attachment accepted (a larger one refuses the whole email).
    """

    address: str
    max_attachment_bytes: int


def receive(
    start: Callable[[], UnitOfWork],
    desk: RoutingConfig,
    raw: bytes,
    *,
    policy: MailPolicy,
    now: datetime,
    envelope_sender: str | None = None,
) -> MailOutcome:
    """Parse an email and file it (see the module docstring for what becomes of each kind).

    Args:
        start: Opens a unit of work.
        desk: The help-desk configuration (routing a reopened ticket).
        raw: The message as received.
        policy: Our addresses and limits.
        now: The receiving instant.
        envelope_sender: The SMTP ``MAIL FROM`` (``""`` for a bounce's null sender), if known.

    Raises:
        InvalidMail: the email cannot be read, or has no sender or text (the sender should be told).
        MailTooLarge: an attachment over the limit, or too many.
        Conflict: its Message-ID was filed before with different content.
    """
    mail = parse_mail(raw, max_attachment_bytes=policy.max_attachment_bytes, own_addresses={policy.address.lower()},
                      envelope_sender=envelope_sender)  # fmt: skip
    return file_mail(start, desk, mail, now=now)


def file_mail(start: Callable[[], UnitOfWork], desk: RoutingConfig, mail: InboundMail, *, now: datetime) -> MailOutcome:
    """File a parsed email once: the ticket or message, its Message-ID and its attachments in one transaction.

    Raises:
        Conflict: the Message-ID was filed before with different content.
    """
    if mail.automatic is not None:
        return MailOutcome(MailAction.IGNORED, reason=mail.automatic)
    key, fingerprint = mail.dedup_key, mail.fingerprint()
    try:
        with start() as uow:
            earlier = _filed_before(uow, key, fingerprint)
            if earlier is not None:
                return MailOutcome(MailAction.DUPLICATE, earlier, "this Message-ID was filed before")
            outcome = _file(uow, desk, mail, now)
            assert outcome.number is not None
            uow.idempotency.remember(EMAIL_CHANNEL.id, key, fingerprint, outcome.number, at=now)
            uow.attachments.add(outcome.number, key, mail.attachments, at=now)
            uow.commit()
            return outcome
    except KeyTaken:  # a concurrent delivery of the same email committed first: its result stands
        with start() as uow:
            earlier = _filed_before(uow, key, fingerprint)
        if earlier is None:  # pragma: no cover - the key row exists once KeyTaken was raised
            raise
        return MailOutcome(MailAction.DUPLICATE, earlier, "a concurrent delivery of this Message-ID filed it")


def _filed_before(uow: UnitOfWork, key: str, fingerprint: str) -> str | None:
    found = uow.idempotency.find(EMAIL_CHANNEL.id, key)
    if found is None:
        return None
    earlier_fingerprint, number = found
    if earlier_fingerprint != fingerprint:
        raise Conflict(
            f"an email with Message-ID <{key[:120]}> was received before with different content; "
            "a new message needs a new Message-ID"
        )
    return number


def _file(uow: UnitOfWork, desk: RoutingConfig, mail: InboundMail, now: datetime) -> MailOutcome:
    answered, why_not = _answered_ticket(uow, mail)
    audit = {"message_id": mail.dedup_key, "attachments": len(mail.attachments), "html_only": mail.html_only,
             "truncated": mail.truncated}  # fmt: skip
    if answered is not None and answered.status is not TicketStatus.CLOSED:
        append_message(uow, desk, EMAIL_CHANNEL, answered, kind=MessageKind.CUSTOMER, body=_text(mail, or_subject=True),
                       now=now, author=mail.sender)  # fmt: skip
        record(uow, actor=EMAIL_CHANNEL, action="email:reply", at=now, ticket=answered, after=audit)
        return MailOutcome(MailAction.REPLIED, answered.id, f"reply to {mail.ticket_reference}")
    customer = (Customer(answered.customer.id, answered.customer.tier, mail.sender) if answered is not None
                else Customer(id=mail.sender, email=mail.sender))  # fmt: skip
    new = intake.NewTicket(subject=mail.subject, body=_text(mail), channel=Channel.EMAIL, customer=customer)
    ticket = intake.create(uow, new, principal=EMAIL_CHANNEL, now=now,
                           parent=answered.id if answered is not None else None)  # fmt: skip
    if answered is None:
        record(uow, actor=EMAIL_CHANNEL, action="email:new", at=now, ticket=ticket,
               after={**audit, **({"reference_not_used": why_not} if why_not else {})})  # fmt: skip
        return MailOutcome(MailAction.CREATED, ticket.id, why_not or "")
    label = EMAIL_CHANNEL.label
    uow.messages.add(Message(ticket.id, MessageKind.SYSTEM, label,
                             f"follow-up of {answered.id}, which was closed: the customer replied to it by email", (), now))  # fmt: skip
    uow.messages.add(Message(answered.id, MessageKind.SYSTEM, label,
                             f"the customer replied by email after this ticket was closed: follow-up {ticket.id}", (), now))  # fmt: skip
    record(uow, actor=EMAIL_CHANNEL, action="email:follow_up", at=now, ticket=ticket, after={**audit, "parent": answered.id})
    return MailOutcome(MailAction.FOLLOW_UP, ticket.id, f"{answered.id} is closed")


def _answered_ticket(uow: UnitOfWork, mail: InboundMail) -> tuple[Ticket | None, str | None]:
    """The ticket the email answers, locked, following merges; or ``None`` and why its reference is not used."""
    number = mail.ticket_reference
    if number is None:
        return None, None
    ticket = uow.tickets.get(number, for_update=True)
    if ticket is None:
        return None, f"{number}: no such ticket"
    if not _same_customer(ticket, mail.sender):
        return None, f"{number}: the sender is not its customer"
    for _ in range(_MAX_MERGE_HOPS):
        if ticket.merged_into is None:
            break
        survivor = uow.tickets.get(ticket.merged_into, for_update=True)
        if survivor is None or not _same_customer(survivor, mail.sender):
            break
        ticket = survivor
    return ticket, None


def _same_customer(ticket: Ticket, sender: str) -> bool:
    known = {(ticket.customer.email or "").strip().lower(), ticket.customer.id.strip().lower()}
    return sender in known


def _text(mail: InboundMail, *, or_subject: bool = False) -> str:
    """The body; for an email without text, a line listing its attachments, or (``or_subject``) its subject."""
    if mail.body.strip():
        return mail.body
    if mail.attachments:
        return "(no text; attached: " + ", ".join(a.filename for a in mail.attachments) + ")"
    return mail.subject if or_subject else ""
