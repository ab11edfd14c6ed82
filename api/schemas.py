"""HTTP schemas: what the API accepts (``...Create``, strict: unknown fields are refused) and returns (``...Public``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triage.domain.agents import AgentStatus
from triage.domain.alerts import Alert, AlertType, Severity
from triage.domain.escalation import EscalationEvent
from triage.domain.ticket import BODY_MAX, SUBJECT_MAX, Ticket
from triage.kernel.vocabulary import Channel, MessageKind, Priority, Role, TicketStatus, Tier, TriageState
from triage.ports import AuditEntry, Delivery, KeyRecord, Message, StoredAttachment, Webhook
from triage.services.queries import SlaStatus, TicketDetails

NOTE_MAX = 20_000
BATCH_MAX = 500
#: JSON Schema for "a subject or a body with some text in it", so generated clients and fuzzers know the rule.
_SOME_TEXT = {"anyOf": [{"required": ["subject"], "properties": {"subject": {"pattern": "\\S"}}},
                        {"required": ["body"], "properties": {"body": {"pattern": "\\S"}}}]}  # fmt: skip


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class WithText(Strict):
    """A subject and a body; at least one must have text."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_SOME_TEXT)

    subject: str = Field(default="", max_length=SUBJECT_MAX)
    body: str = Field(default="", max_length=BODY_MAX)

    @model_validator(mode="after")
    def _has_text(self) -> WithText:
        if not (self.subject.strip() or self.body.strip()):
            raise ValueError("the ticket has no text: send a subject or a body with some words in it")
        return self

    @property
    def text(self) -> str:
        return "\n".join(p for p in (self.subject.strip(), self.body.strip()) if p)


class CustomerIn(Strict):
    id: str = Field(min_length=1, max_length=200, description="Your identifier of the customer.")
    tier: Tier = Field(default=Tier.STANDARD, description="`vip` tightens the SLA and can need a senior agent.")
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


class TicketCreate(WithText):
    """A new ticket. Send a subject, a body, or both."""

    channel: Channel = Channel.API
    customer: CustomerIn
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$", description="e.g. `en`, `zh`")


class TicketsBatchCreate(Strict):
    tickets: list[TicketCreate] = Field(min_length=1, max_length=BATCH_MAX)


class TriageRequest(WithText):
    """Text to triage without storing a ticket (for pipelines that keep tickets elsewhere)."""

    customer: CustomerIn | None = None
    channel: Channel = Channel.API


class StatusChange(Strict):
    status: TicketStatus


class MessageCreate(Strict):
    kind: MessageKind = Field(description="`reply` (to the customer), `note` (internal, @mentions), `customer`.")
    body: str = Field(min_length=1, max_length=NOTE_MAX, pattern="\\S")


class ResolveRequest(Strict):
    solution: str | None = Field(default=None, max_length=NOTE_MAX, description="Filed in the knowledge base.")


class ReassignRequest(Strict):
    agent_id: str | None = Field(default=None, max_length=100)
    team: str | None = Field(default=None, max_length=100)


class ClassifyRequest(Strict):
    category: str | None = Field(default=None, max_length=200)
    priority: Priority | None = None


class CsatRequest(Strict):
    score: int = Field(ge=1, le=5)


class MergeRequest(Strict):
    into: str = Field(min_length=1, max_length=32, description="The ticket number to keep.")


class SubtaskCreate(WithText):
    team: str = Field(min_length=1, max_length=100)


class PresenceChange(Strict):
    status: AgentStatus | None = Field(description="`online`, `away`, `offline`, or null to follow the shifts.")


class KeyCreate(Strict):
    role: Role
    name: str = Field(default="", max_length=200)
    teams: list[str] = Field(default_factory=list)
    agent_id: str | None = Field(default=None, max_length=100)


# ----------------------------------------------------------------------------------------------------------- out
class CustomerPublic(BaseModel):
    id: str
    tier: Tier
    email: str | None


class LabelConfidence(BaseModel):
    label: str
    confidence: float


class CategoryPublic(BaseModel):
    label: str = Field(description="The model's best label; only a hint when `abstained`.")
    confidence: float
    abstained: bool
    abstain_reason: str | None
    alternatives: list[LabelConfidence]
    model_version: str


class SignalPublic(BaseModel):
    source: str
    detail: str
    weight: float


class UrgencyPublic(BaseModel):
    level: Priority
    score: float
    signals: list[SignalPublic]
    model_version: str


class SentimentPublic(BaseModel):
    label: str
    confidence: float
    anger: float
    model_version: str


class LanguagePublic(BaseModel):
    code: str
    confidence: float


class SuggestionPublic(BaseModel):
    article_id: str
    title: str
    score: float
    snippet: str
    source: str


class SimilarPublic(BaseModel):
    number: str
    similarity: float
    duplicate: bool


class TriagePublic(BaseModel):
    category: CategoryPublic
    urgency: UrgencyPublic
    sentiment: SentimentPublic
    language: LanguagePublic
    suggestions: list[SuggestionPublic]
    similar: list[SimilarPublic] = Field(default_factory=list)
    repeat_of: str | None = None
    model_versions: dict[str, str]
    degraded: bool
    warnings: list[str]


class AssignmentPublic(BaseModel):
    team: str | None
    agent_id: str | None
    queued: bool = Field(description="True while the ticket waits in the team's queue for an agent.")
    reasons: list[str]


class EscalationPublic(BaseModel):
    rule: str
    metric: str
    notify: str
    recipient: str | None
    cycle: int
    threshold_at: datetime
    fired_at: datetime


class SlaPublic(BaseModel):
    first_response_due: datetime | None
    resolution_due: datetime | None
    breached: bool
    ever_breached: bool
    paused: bool
    cycle: int
    calendar: str
    escalations: list[EscalationPublic]


class MessagePublic(BaseModel):
    kind: MessageKind
    author: str
    body: str
    mentions: list[str]
    created_at: datetime


class AttachmentPublic(BaseModel):
    filename: str
    content_type: str
    size: int = Field(description="Decoded size in bytes. Only the metadata is kept, not the content.")
    received_at: datetime


class TicketPublic(BaseModel):
    number: str
    status: TicketStatus
    triage_state: TriageState
    subject: str
    body: str
    channel: Channel
    customer: CustomerPublic
    language: str | None
    requested_language: str | None
    category: str | None = Field(description="The category in force (empty while a person must choose it).")
    priority: Priority | None
    triage: TriagePublic | None
    assignment: AssignmentPublic
    sla: SlaPublic | None
    parent: str | None
    merged_into: str | None
    repeat_of: str | None
    repeat_contacts: int
    solution: str | None
    csat: int | None
    created_at: datetime
    updated_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    thread: list[MessagePublic] | None = Field(default=None, description="Only on GET of one ticket.")
    attachments: list[AttachmentPublic] | None = Field(
        default=None, description="What the customer attached to their email (metadata only); not in lists."
    )


class TicketsPublic(BaseModel):
    tickets: list[TicketPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class BatchItemPublic(BaseModel):
    created: bool
    ticket: TicketPublic


class TicketsBatchPublic(BaseModel):
    items: list[BatchItemPublic]


class TriageResultPublic(BaseModel):
    triage: TriagePublic


class AuditEntryPublic(BaseModel):
    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class KeyPublic(BaseModel):
    id: str
    name: str
    role: Role
    teams: list[str]
    agent_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The key itself. Shown once; only its hash is stored.")


class AlertPublic(BaseModel):
    id: int
    type: AlertType
    severity: Severity
    reason: str
    ticket: str | None = Field(description="The ticket number (none for model drift).")
    team: str | None
    tier: Tier
    related: list[str]
    details: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class WebhookCreate(Strict):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s/]+")
    secret: str = Field(min_length=16, max_length=256)
    events: list[AlertType] = Field(min_length=1)


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[AlertType]
    active: bool
    created_at: datetime
    created_by: str


class DeliveryPublic(BaseModel):
    id: int
    webhook_id: str
    alert_id: int
    event: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class SuggestionRating(Strict):
    helpful: bool


class RatingPublic(BaseModel):
    article_id: str
    helpful: bool
    counted: bool = Field(description="False when this person had already voted the same.")


class ModelsPublic(BaseModel):
    versions: dict[str, str]
    encoder: str
    knowledge_base: bool


class ErrorPublic(BaseModel):
    detail: str


class TransitionErrorPublic(BaseModel):
    detail: str
    current: str
    allowed: list[str]


# ----------------------------------------------------------------------------------------------------------- mapping
def triage_public(data: dict[str, Any] | None) -> TriagePublic | None:
    """The stored triage record (``TriageResult.to_dict()`` + similar tickets) in its public shape."""
    if not data:
        return None
    category, urgency, sentiment = data["category"], data["urgency"], data["sentiment"]
    return TriagePublic(
        category=CategoryPublic(
            label=category["label"], confidence=category["confidence"], abstained=category["abstained"],
            abstain_reason=category["abstain_reason"], model_version=category["model_version"],
            alternatives=[LabelConfidence(label=r["label"], confidence=r["confidence"]) for r in category["ranking"]],
        ),
        urgency=UrgencyPublic(level=urgency["level"], score=urgency["score"], model_version=urgency["model_version"],
                              signals=[SignalPublic(**s) for s in urgency["signals"]]),
        sentiment=SentimentPublic(label=sentiment["label"], confidence=sentiment["confidence"], anger=sentiment["anger"],
                                  model_version=sentiment["model_version"]),
        language=LanguagePublic(code=data["language"]["language"], confidence=data["language"]["confidence"]),
        suggestions=[SuggestionPublic(**s) for s in data["suggestions"]],
        similar=[SimilarPublic(**s) for s in data.get("similar", [])],
        repeat_of=data.get("repeat_of"),
        model_versions=data["model_versions"],
        degraded=data["degraded"],
        warnings=list(data["warnings"]),
    )  # fmt: skip


def sla_public(sla: SlaStatus | None) -> SlaPublic | None:
    if sla is None:
        return None
    return SlaPublic(
        first_response_due=sla.first_response_due, resolution_due=sla.resolution_due, breached=sla.breached,
        ever_breached=sla.ever_breached, paused=sla.paused, cycle=sla.cycle, calendar=sla.calendar,
        escalations=[escalation_public(e) for e in sla.escalations],
    )  # fmt: skip


def escalation_public(event: EscalationEvent) -> EscalationPublic:
    return EscalationPublic(rule=event.rule, metric=event.metric, notify=event.notify, recipient=event.recipient,
                            cycle=event.cycle, threshold_at=event.threshold_at, fired_at=event.fired_at)  # fmt: skip


def message_public(message: Message) -> MessagePublic:
    return MessagePublic(kind=message.kind, author=message.author, body=message.body, mentions=list(message.mentions),
                         created_at=message.created_at)  # fmt: skip


def ticket_public(
    ticket: Ticket,
    *,
    sla: SlaStatus | None = None,
    thread: list[Message] | None = None,
    attachments: list[StoredAttachment] | None = None,
) -> TicketPublic:
    return TicketPublic(
        number=ticket.id, status=ticket.status, triage_state=ticket.triage_state, subject=ticket.subject,
        body=ticket.body, channel=ticket.channel,
        customer=CustomerPublic(id=ticket.customer.id, tier=ticket.customer.tier, email=ticket.customer.email),
        language=ticket.language, requested_language=ticket.requested_language, category=ticket.category,
        priority=ticket.priority, triage=triage_public(dict(ticket.triage) if ticket.triage else None),
        assignment=AssignmentPublic(team=ticket.team, agent_id=ticket.assignee,
                                    queued=ticket.assignee is None and ticket.is_open and ticket.team is not None,
                                    reasons=list(ticket.assignment_reasons)),
        sla=sla_public(sla), parent=ticket.parent, merged_into=ticket.merged_into, repeat_of=ticket.repeat_of,
        repeat_contacts=ticket.repeat_contacts, solution=ticket.solution, csat=ticket.csat,
        created_at=ticket.created_at, updated_at=ticket.updated_at, first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at, closed_at=ticket.closed_at,
        thread=[message_public(m) for m in thread] if thread is not None else None,
        attachments=[AttachmentPublic(filename=a.filename, content_type=a.content_type, size=a.size,
                                      received_at=a.received_at) for a in attachments] if attachments is not None else None,
    )  # fmt: skip


def details_public(details: TicketDetails, *, with_thread: bool = True) -> TicketPublic:
    return ticket_public(details.ticket, sla=details.sla, thread=list(details.thread) if with_thread else None,
                         attachments=list(details.attachments))  # fmt: skip


def key_public(record: KeyRecord) -> KeyPublic:
    return KeyPublic(id=record.id, name=record.name, role=record.role, teams=sorted(record.teams),
                     agent_id=record.agent_id, created_at=record.created_at, revoked_at=record.revoked_at)  # fmt: skip


def audit_public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic(at=entry.at, actor=entry.actor, action=entry.action,
                            before=dict(entry.before) if entry.before else None,
                            after=dict(entry.after) if entry.after else None)  # fmt: skip


def alert_public(alert: Alert) -> AlertPublic:
    return AlertPublic(id=alert.id or 0, type=alert.type, severity=alert.severity, reason=alert.reason,
                       ticket=alert.number, team=alert.team, tier=alert.tier, related=list(alert.related),
                       details=dict(alert.details), created_at=alert.created_at,
                       acknowledged_at=alert.acknowledged_at, acknowledged_by=alert.acknowledged_by)  # fmt: skip


def webhook_public(webhook: Webhook) -> WebhookPublic:
    return WebhookPublic(id=webhook.id, url=webhook.url, events=sorted(webhook.events), active=webhook.active,
                         created_at=webhook.created_at, created_by=webhook.created_by)  # fmt: skip


def delivery_public(delivery: Delivery) -> DeliveryPublic:
    return DeliveryPublic(id=delivery.id, webhook_id=delivery.webhook_id, alert_id=delivery.alert_id,
                          event=delivery.event, state=delivery.state, attempts=delivery.attempts,
                          next_attempt_at=delivery.next_attempt_at, last_status=delivery.last_status,
                          last_error=delivery.last_error, delivered_at=delivery.delivered_at)  # fmt: skip
