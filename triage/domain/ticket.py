"""The ticket: one entity from intake to close, with its lifecycle.

Statuses go ``new → assigned → in_progress → pending_customer → resolved → closed``; a resolved ticket can be
reopened. :meth:`Ticket.move_to` is the only way to change status, and it refuses an illegal move with the
list of allowed ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.kernel.errors import IllegalTransition
from triage.kernel.vocabulary import OPEN_STATUSES, Channel, Priority, TicketStatus, Tier, TriageState

#: Longest subject and body a ticket takes (the API refuses longer ones; the email channel cuts them, saying so).
#: The models read at most ``TRIAGE_MAX_TEXT_CHARS`` of a ticket; the rest is stored and shown, but not read.
SUBJECT_MAX = 500
BODY_MAX = 20_000

_S = TicketStatus
#: Where each status may go. ``assigned``/``in_progress → new`` hands a ticket back to its queue (agent offline);
#: ``resolved → in_progress`` is a reopen; ``closed`` is final (a later reply opens a follow-up ticket).
TRANSITIONS: Mapping[TicketStatus, tuple[TicketStatus, ...]] = {
    _S.NEW: (_S.ASSIGNED, _S.IN_PROGRESS, _S.PENDING_CUSTOMER, _S.RESOLVED),
    _S.ASSIGNED: (_S.NEW, _S.IN_PROGRESS, _S.PENDING_CUSTOMER, _S.RESOLVED),
    _S.IN_PROGRESS: (_S.NEW, _S.ASSIGNED, _S.PENDING_CUSTOMER, _S.RESOLVED),
    _S.PENDING_CUSTOMER: (_S.IN_PROGRESS, _S.RESOLVED),
    _S.RESOLVED: (_S.IN_PROGRESS, _S.CLOSED),
    _S.CLOSED: (),
}


@dataclass(frozen=True)
class Customer:
    """Who sent the ticket."""

    id: str
    tier: Tier = Tier.STANDARD
    email: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier", Tier(self.tier))


@dataclass(eq=False)
class Ticket:
    """A support ticket. Equality and hashing follow ``id``: two objects with one id are the same ticket.

    Once stored, ``id`` and ``number`` are the human-readable ticket number. The triage fields (``language``,
    ``category``, ``priority``, ``anger``, ``triage``) are empty until triage fills them; routing and SLA need
    ``category`` and ``priority``.
    """

    id: str
    subject: str = ""
    body: str = ""
    customer: Customer = field(default_factory=lambda: Customer(id="anonymous"))
    channel: Channel = Channel.API
    created_at: datetime | None = None
    number: str | None = None
    status: TicketStatus = TicketStatus.NEW
    language: str | None = None
    category: str | None = None
    priority: Priority | None = None
    anger: float = 0.0  # 0 calm .. 1 furious (from the sentiment stage)
    repeat_contacts: int = 0  # earlier tickets of this customer about the same problem
    team: str | None = None
    assignee: str | None = None
    # -- what the service adds around the entity --------------------------------------------------------------
    triage_state: TriageState = TriageState.PENDING
    requested_language: str | None = None  # the language the submitter declared, if any
    urgency_score: float | None = None
    triage: Mapping[str, Any] | None = None  # the full triage result as plain data, with its model versions
    assignment_reasons: tuple[str, ...] = ()
    repeat_of: str | None = None
    parent: str | None = None  # the ticket this one is a sub-task of
    merged_into: str | None = None
    submitted_by: str | None = None  # id of the key or user that submitted it
    updated_at: datetime | None = None
    accepted_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    solution: str | None = None
    csat: int | None = None
    # -- what the models said, and the figures analytics aggregate --------------------------------------------
    predicted_category: str | None = None
    predicted_priority: Priority | None = None
    category_model_version: str | None = None
    urgency_model_version: str | None = None
    abstained: bool | None = None
    rerouted: bool = False  # a person moved it after triage
    reopen_count: int = 0
    agent_replies: int = 0
    first_response_s: float | None = None
    first_response_business_s: float | None = None
    handling_s: float | None = None
    handling_business_s: float | None = None
    sla_breached: bool | None = None

    def __post_init__(self) -> None:
        self.channel = Channel(self.channel)
        self.status = TicketStatus(self.status)
        self.triage_state = TriageState(self.triage_state)
        if self.priority is not None:
            self.priority = Priority(self.priority)
        if self.predicted_priority is not None:
            self.predicted_priority = Priority(self.predicted_priority)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ticket) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def text(self) -> str:
        """Subject and body as triage reads them: stripped, joined by a newline, either may be empty."""
        return "\n".join(part for part in (self.subject.strip(), self.body.strip()) if part)

    @property
    def tier(self) -> Tier:
        return self.customer.tier

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_angry_vip(self, threshold: float) -> bool:
        return self.tier == Tier.VIP and self.anger >= threshold

    def allowed_statuses(self) -> tuple[TicketStatus, ...]:
        """Statuses this ticket may move to now."""
        return TRANSITIONS[self.status]

    def move_to(self, status: TicketStatus) -> TicketStatus:
        """Change status; returns the previous one.

        Raises:
            IllegalTransition: the lifecycle does not allow it (the error lists the allowed statuses).
        """
        target = TicketStatus(status)
        if target not in TRANSITIONS[self.status]:
            raise IllegalTransition(
                self.number or self.id,
                self.status.value,
                target.value,
                tuple(s.value for s in TRANSITIONS[self.status]),
            )
        previous, self.status = self.status, target
        return previous
