"""Ports: the interfaces the services need from the outside world. Adapters implement them."""

from __future__ import annotations

import abc
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from triage.domain.access import TicketScope
from triage.domain.agents import AgentStatus
from triage.domain.alerts import Alert, AlertType, Severity
from triage.domain.calendar import BusinessCalendar
from triage.domain.escalation import EscalationEvent
from triage.domain.mail import Attachment
from triage.domain.sla import SlaClock
from triage.domain.ticket import Ticket
from triage.kernel.vocabulary import Channel, MessageKind, Priority, Role, TicketStatus, TriageState


class AgentLoadStore(abc.ABC):
    """Counts how many open tickets each agent holds.

    ``claim`` must be atomic across every router that shares the store: two claims racing for the last
    free slot of an agent must not both succeed.
    """

    @abc.abstractmethod
    def claim(self, agent_id: str, capacity: int) -> bool:
        """Take one slot of ``agent_id`` if its load is below ``capacity``.

        Args:
            agent_id: The agent.
            capacity: The agent's maximum number of open tickets.

        Returns:
            ``True`` if the slot was taken, ``False`` if the agent is full.
        """

    @abc.abstractmethod
    def release(self, agent_id: str) -> None:
        """Give one slot of ``agent_id`` back (never below zero)."""

    @abc.abstractmethod
    def load_of(self, agent_id: str) -> int:
        """Current number of open tickets of ``agent_id`` (0 if unknown)."""

    def loads(self, agent_ids: list[str]) -> dict[str, int]:
        """Loads of several agents (override for a single round trip)."""
        return {agent_id: self.load_of(agent_id) for agent_id in agent_ids}

    @abc.abstractmethod
    def mark_assigned(self, agent_id: str) -> None:
        """Record that ``agent_id`` just got a ticket (round robin within ties goes to the longest waiting)."""

    @abc.abstractmethod
    def last_assigned(self, agent_ids: list[str]) -> dict[str, int]:
        """An increasing stamp of each agent's latest assignment (agents never assigned are missing)."""


class InMemoryAgentLoadStore(AgentLoadStore):
    """Thread-safe in-process store; the default for a single router process and for tests."""

    def __init__(self) -> None:
        self._loads: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def claim(self, agent_id: str, capacity: int) -> bool:
        """Take one slot if below capacity (atomic under the store's lock)."""
        with self._lock:
            load = self._loads.get(agent_id, 0)
            if load >= capacity:
                return False
            self._loads[agent_id] = load + 1
            return True

    def release(self, agent_id: str) -> None:
        """Give one slot back (never below zero)."""
        with self._lock:
            self._loads[agent_id] = max(self._loads.get(agent_id, 0) - 1, 0)

    def load_of(self, agent_id: str) -> int:
        """Current load of ``agent_id``."""
        with self._lock:
            return self._loads.get(agent_id, 0)

    def mark_assigned(self, agent_id: str) -> None:
        """Stamp the agent's latest assignment with the next sequence number."""
        with self._lock:
            self._seq += 1
            self._last[agent_id] = self._seq

    def last_assigned(self, agent_ids: list[str]) -> dict[str, int]:
        """Sequence numbers of the agents' latest assignments."""
        with self._lock:
            return {a: self._last[a] for a in agent_ids if a in self._last}


# ---------------------------------------------------------------------------------------------------------------
# What the service stores. Records are plain frozen dataclasses; the SQL adapter maps them to tables.


@dataclass(frozen=True)
class TicketFilter:
    """Filters of the ticket list (all optional; combined with AND)."""

    status: TicketStatus | None = None
    team: str | None = None
    priority: Priority | None = None
    breached: bool | None = None
    assignee: str | None = None
    triage_state: TriageState | None = None


@dataclass(frozen=True)
class TicketPage:
    """One page of tickets, newest first, and the cursor of the next page (``None`` on the last)."""

    tickets: list[Ticket]
    next_cursor: str | None


@dataclass(frozen=True)
class Job:
    """A unit of background work on one ticket, claimed by one worker at a time."""

    id: int
    kind: str
    number: str
    attempts: int


@dataclass(frozen=True)
class Message:
    """An entry of a ticket's thread."""

    number: str
    kind: MessageKind
    author: str
    body: str
    mentions: tuple[str, ...]
    created_at: datetime
    anger: float | None = None  # customer messages, once the sentiment model has read them


@dataclass(frozen=True)
class StoredAttachment:
    """An attachment a customer emailed: its metadata, with the ticket and the email it came with."""

    number: str
    message_key: str
    filename: str
    content_type: str
    size: int
    received_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """Who changed what, when, with the values before and after."""

    at: datetime
    actor: str
    action: str
    number: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


@dataclass(frozen=True)
class KeyRecord:
    """A stored API key: never the key itself, only its hash."""

    id: str
    name: str
    role: Role
    teams: frozenset[str]
    agent_id: str | None
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class StoredVector:
    """A ticket's embedding in the similar-ticket memory."""

    row_id: int
    number: str
    customer_id: str
    created_at: datetime
    vector: bytes


@dataclass(frozen=True)
class StoredClock:
    """A ticket's SLA clock and what the scheduler needs to know about it."""

    clock: SlaClock
    fired: frozenset[tuple[int, str]]


class TicketRepository(abc.ABC):
    """Tickets, stored and found by number."""

    @abc.abstractmethod
    def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket and give it its number (``ticket.id`` and ``ticket.number`` are set)."""

    @abc.abstractmethod
    def get(self, number: str, *, for_update: bool = False) -> Ticket | None:
        """The ticket, or ``None``. ``for_update`` locks its row until the unit of work ends."""

    @abc.abstractmethod
    def save(self, ticket: Ticket) -> None:
        """Write back a ticket's changed fields."""

    @abc.abstractmethod
    def list(
        self, scope: TicketScope, filters: TicketFilter, *, cursor: str | None, limit: int, now: datetime
    ) -> TicketPage:
        """Tickets in ``scope`` matching ``filters``, newest first, ``limit`` per page."""

    @abc.abstractmethod
    def open_for_agent(self, agent_id: str) -> list[Ticket]:
        """Open tickets assigned to ``agent_id``."""

    @abc.abstractmethod
    def open_by_due(self, scope: TicketScope, filters: TicketFilter, *, limit: int) -> list[Ticket]:
        """Open tickets in ``scope`` matching ``filters``, the soonest SLA deadline first (tickets without a running
        clock last, oldest first)."""

    @abc.abstractmethod
    def category_decisions(self, *, since: datetime, limit: int) -> list[tuple[float, str | None]]:
        """``(confidence, abstain reason)`` of the category model for tickets triaged since ``since``."""


class IdempotencyStore(abc.ABC):
    """Remembers which ticket an idempotency key created, and the body it came with."""

    @abc.abstractmethod
    def find(self, principal_id: str, key: str) -> tuple[str, str] | None:
        """``(request hash, ticket number)`` of an earlier request with this key, or ``None``."""

    @abc.abstractmethod
    def remember(self, principal_id: str, key: str, request_hash: str, number: str, *, at: datetime) -> None:
        """Record the key. Raises :class:`~triage.kernel.errors.Conflict` if another request took it first."""


class JobQueue(abc.ABC):
    """Durable background jobs. Claims are exclusive: a job runs in one worker at a time."""

    @abc.abstractmethod
    def enqueue(self, kind: str, number: str, *, at: datetime) -> None:
        """Queue a job for ``number`` to run from ``at``."""

    @abc.abstractmethod
    def claim(self, kind: str, worker: str, *, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        """Take up to ``limit`` due jobs (and jobs whose holder's lease ran out) for ``lease``."""

    @abc.abstractmethod
    def complete(self, job: Job, worker: str, *, now: datetime) -> bool:
        """Mark done; ``False`` when ``worker`` no longer holds the claim (its results must be dropped)."""

    @abc.abstractmethod
    def retry(self, job: Job, worker: str, *, error: str, run_after: datetime | None, now: datetime) -> None:
        """Give a failed job back for another try at ``run_after``, or mark it failed for good (``None``)."""

    @abc.abstractmethod
    def release_claims(self, worker: str) -> int:
        """Put every job ``worker`` holds back in the queue (graceful shutdown); returns how many."""

    @abc.abstractmethod
    def depth(self, kind: str, *, now: datetime) -> tuple[int, float]:
        """Queued jobs of ``kind`` and the age in seconds of the oldest."""


class SlaStore(abc.ABC):
    """SLA clocks and the escalations they fired."""

    @abc.abstractmethod
    def put(self, number: str, clock: SlaClock, *, next_check_at: datetime | None, now: datetime) -> None:
        """Store (or replace) a ticket's clock; the scheduler looks at it again at ``next_check_at``."""

    @abc.abstractmethod
    def get(self, number: str, calendars: Mapping[str, BusinessCalendar]) -> StoredClock | None:
        """The clock of ``number`` (its calendar resolved by name) and the escalations it fired."""

    @abc.abstractmethod
    def due(self, now: datetime, *, limit: int) -> list[str]:
        """Numbers of tickets whose clock must be looked at now (rows locked, skipping locked ones)."""

    @abc.abstractmethod
    def record_escalation(self, event: EscalationEvent) -> bool:
        """Store a fired escalation; ``False`` if that level already fired for that cycle (a no-op)."""

    @abc.abstractmethod
    def escalations(self, number: str) -> list[EscalationEvent]:
        """Every escalation of ``number``, oldest first."""

    @abc.abstractmethod
    def clocks(self, numbers: list[str], calendars: Mapping[str, BusinessCalendar]) -> dict[str, SlaClock]:
        """The clocks of several tickets in one round trip (tickets without one are missing)."""


class MessageLog(abc.ABC):
    """Tickets' threads."""

    @abc.abstractmethod
    def add(self, message: Message) -> None: ...

    @abc.abstractmethod
    def thread(self, number: str) -> list[Message]: ...

    @abc.abstractmethod
    def set_anger(self, number: str, created_at: datetime, anger: float) -> None:
        """Record the anger the sentiment model read in a customer message."""


class AttachmentStore(abc.ABC):
    """Metadata of what customers attached to their email (the content itself is not kept)."""

    @abc.abstractmethod
    def add(self, number: str, message_key: str, attachments: Sequence[Attachment], *, at: datetime) -> None: ...

    @abc.abstractmethod
    def of(self, number: str) -> list[StoredAttachment]:
        """Every attachment of ``number``, in the order received."""


class AuditLog(abc.ABC):
    """Append-only audit trail."""

    @abc.abstractmethod
    def record(self, entry: AuditEntry) -> None: ...

    @abc.abstractmethod
    def entries(self, number: str) -> list[AuditEntry]: ...


class KeyStore(abc.ABC):
    """API keys, stored as hashes."""

    @abc.abstractmethod
    def add(self, record: KeyRecord, key_hash: str) -> None: ...

    @abc.abstractmethod
    def by_hash(self, key_hash: str) -> KeyRecord | None: ...

    @abc.abstractmethod
    def all(self) -> list[KeyRecord]: ...

    @abc.abstractmethod
    def revoke(self, key_id: str, *, at: datetime) -> bool: ...


class PresenceStore(abc.ABC):
    """Agents' manual presence overrides (``None`` follows the shifts)."""

    @abc.abstractmethod
    def presence(self) -> dict[str, AgentStatus]: ...

    @abc.abstractmethod
    def set_presence(self, agent_id: str, status: AgentStatus | None) -> None: ...


class VectorMemory(abc.ABC):
    """Embeddings of recent tickets, for similar-ticket and repeat-contact detection across processes."""

    @abc.abstractmethod
    def add(self, number: str, *, customer_id: str, encoder_id: str, vector: bytes, at: datetime) -> None: ...

    @abc.abstractmethod
    def since(self, after_id: int, *, not_before: datetime, encoder_id: str) -> list[StoredVector]:
        """Vectors stored after row ``after_id``, of tickets created from ``not_before`` on, oldest first."""

    @abc.abstractmethod
    def abstained(self, *, not_before: datetime, encoder_id: str, limit: int) -> list[tuple[str, str, bytes]]:
        """``(number, subject, vector)`` of abstained tickets created from ``not_before`` on."""


class Leases(abc.ABC):
    """Named, expiring locks for periodic work that one worker at a time should do."""

    @abc.abstractmethod
    def acquire(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool: ...

    @abc.abstractmethod
    def release(self, name: str, holder: str) -> None: ...


@dataclass(frozen=True)
class AlertFilter:
    """Filters of the alert list (combined with AND)."""

    type: AlertType | None = None
    severity: Severity | None = None
    team: str | None = None
    number: str | None = None
    acknowledged: bool | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Webhook:
    """A receiver of signed event deliveries."""

    id: str
    url: str
    secret: str
    events: frozenset[AlertType]
    active: bool
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class Delivery:
    """One event for one webhook: its body is fixed, its attempts are counted."""

    id: int
    webhook_id: str
    alert_id: int
    event: str
    body: str
    state: str  # pending | delivered | dead
    attempts: int
    next_attempt_at: datetime
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class Correction:
    """A person's correction of what a model decided, with the model version it corrects."""

    number: str
    field: str  # category | priority
    model_version: str | None
    predicted: str | None
    corrected: str
    actor: str
    created_at: datetime


class AlertStore(abc.ABC):
    """Stored alerts; ids increase, so ``after`` a given id is a resumable stream."""

    @abc.abstractmethod
    def add(self, alert: Alert) -> Alert:
        """Store an alert; returns it with its ``id``."""

    @abc.abstractmethod
    def list(self, filters: AlertFilter, *, teams: frozenset[str] | None, after_id: int = 0, limit: int = 100) -> list[Alert]:
        """Alerts matching ``filters``, visible to ``teams`` (``None``: all), ids above ``after_id``, oldest first."""

    @abc.abstractmethod
    def get(self, alert_id: int) -> Alert | None: ...

    @abc.abstractmethod
    def acknowledge(self, alert_id: int, *, by: str, at: datetime) -> bool:
        """Mark acknowledged (once); ``False`` if it already was."""

    @abc.abstractmethod
    def latest_id(self) -> int:
        """The newest alert's id (0 when there is none): where a new live subscriber starts."""

    @abc.abstractmethod
    def exists(self, alert_type: AlertType, *, number: str | None, since: datetime) -> bool:
        """Whether an alert of this type for this ticket was raised since ``since`` (to avoid repeating one)."""


class WebhookStore(abc.ABC):
    """Webhooks and their outbox of deliveries."""

    @abc.abstractmethod
    def add(self, webhook: Webhook) -> None: ...

    @abc.abstractmethod
    def all(self) -> list[Webhook]: ...

    @abc.abstractmethod
    def get(self, webhook_id: str) -> Webhook | None: ...

    @abc.abstractmethod
    def deactivate(self, webhook_id: str) -> bool: ...

    @abc.abstractmethod
    def enqueue(self, webhook_id: str, alert_id: int, event: str, body: str, *, at: datetime) -> int:
        """Queue one delivery (in the transaction that stored the alert); returns its id."""

    @abc.abstractmethod
    def claim(self, worker: str, *, limit: int, lease: timedelta, now: datetime) -> list[Delivery]:
        """Due deliveries (and ones whose holder's lease ran out), exclusively for ``worker``."""

    @abc.abstractmethod
    def delivered(self, delivery_id: int, worker: str, *, status: int, at: datetime) -> None: ...

    @abc.abstractmethod
    def failed(self, delivery_id: int, worker: str, *, status: int | None, error: str,
               retry_at: datetime | None, at: datetime) -> None:  # fmt: skip
        """Record a failed attempt: retry at ``retry_at``, or dead-letter it (``None``)."""

    @abc.abstractmethod
    def redeliver(self, delivery_id: int, *, at: datetime) -> bool:
        """Queue a delivered or dead delivery again (manual redelivery)."""

    @abc.abstractmethod
    def deliveries(self, *, webhook_id: str | None, state: str | None, limit: int) -> list[Delivery]: ...


class FeedbackStore(abc.ABC):
    """Corrections and suggestion ratings, and the live model quality they give."""

    @abc.abstractmethod
    def add_correction(self, correction: Correction) -> None: ...

    @abc.abstractmethod
    def rate_suggestion(self, number: str, article_id: str, *, helpful: bool, actor: str, at: datetime) -> bool:
        """Record a vote; ``False`` when this person had voted the same on it already."""

    @abc.abstractmethod
    def votes(self, number: str, actor: str) -> dict[str, bool]:
        """``article id -> helpful`` of one person's votes on ``number``'s suggestions."""

    @abc.abstractmethod
    def unapplied_votes(self, number: str) -> list[tuple[str, bool]]:
        """``(article id, helpful)`` votes on ``number``'s suggestions not yet counted in the knowledge base."""

    @abc.abstractmethod
    def mark_votes_applied(self, number: str) -> None: ...

    @abc.abstractmethod
    def quality(self, *, since: datetime | None) -> dict[str, Any]:
        """Per model version and label: triaged, corrected, live accuracy; abstain rate; re-routed share."""

    @abc.abstractmethod
    def corrected_tickets(self, *, since: datetime | None) -> list[dict[str, Any]]:
        """One row per corrected ticket: its text, final category and priority, language, what was corrected."""


class PeriodicRuns(abc.ABC):
    """Periodic jobs (the daily drift check) that one process runs per period."""

    @abc.abstractmethod
    def claim(self, name: str, *, every: timedelta, now: datetime) -> bool:
        """Whether this caller should run ``name`` now (the last run is older than ``every``); records the run."""


class WebhookSender(abc.ABC):
    """Sends one signed webhook request (an HTTP client in production, a fake in tests)."""

    @abc.abstractmethod
    def send(self, url: str, *, headers: Mapping[str, str], body: bytes) -> int:
        """POST ``body``; returns the HTTP status. Raises ``OSError`` (or a subclass) when nothing answered."""


@dataclass(frozen=True)
class AnalyticsFilter:
    """The slice of tickets analytics look at: created in ``[start, end)``, optionally one team, channel,
    category (and the labels below it) or priority."""

    start: datetime
    end: datetime
    team: str | None = None
    channel: Channel | None = None
    category: str | None = None
    priority: Priority | None = None
    teams: frozenset[str] | None = None  # the caller's scope (``None``: every team)


class AnalyticsQueries(abc.ABC):
    """Aggregates computed by the database (see :mod:`triage.adapters.sql.analytics`)."""

    @abc.abstractmethod
    def percentiles(self, column: str, filters: AnalyticsFilter, *, group_by: str | None = None,
                    ps: tuple[int, ...] = (50, 90)) -> dict[Any, dict[str, float | None]]: ...  # fmt: skip

    @abc.abstractmethod
    def summary(self, filters: AnalyticsFilter) -> dict[str, Any]: ...

    @abc.abstractmethod
    def sla_attainment(self, filters: AnalyticsFilter, by: str) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def backlog(self, filters: AnalyticsFilter) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def open_age(self, filters: AnalyticsFilter, *, now: datetime) -> dict[str, Any]: ...

    @abc.abstractmethod
    def agents(self, filters: AnalyticsFilter) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def hot_topics(self, filters: AnalyticsFilter) -> dict[str, Any]: ...


@dataclass(frozen=True)
class UserRecord:
    """A console user: a person who signs in with a password (stored only as an Argon2 hash)."""

    id: str
    username: str
    role: Role
    teams: frozenset[str]
    agent_id: str | None
    created_at: datetime
    disabled_at: datetime | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser: the cookie holds a random token, the store only its hash."""

    token_hash: str
    user_id: str
    csrf_token: str
    time_zone: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


class UserStore(abc.ABC):
    """Console users and their password hashes."""

    @abc.abstractmethod
    def add(self, user: UserRecord, password_hash: str) -> None:
        """Store a new user. Raises :class:`~triage.kernel.errors.Conflict` when the username is taken."""

    @abc.abstractmethod
    def by_username(self, username: str) -> tuple[UserRecord, str] | None:
        """The user and its password hash, or ``None``."""

    @abc.abstractmethod
    def get(self, user_id: str) -> UserRecord | None: ...

    @abc.abstractmethod
    def all(self) -> list[UserRecord]: ...

    @abc.abstractmethod
    def set_password(self, user_id: str, password_hash: str) -> None: ...

    @abc.abstractmethod
    def disable(self, user_id: str, *, at: datetime) -> bool:
        """Disable an active user; ``False`` when already disabled."""

    @abc.abstractmethod
    def login_failed(self, user_id: str, *, locked_until: datetime | None) -> int:
        """Count a failed sign-in (and lock until ``locked_until`` when given); returns the failures in a row."""

    @abc.abstractmethod
    def login_succeeded(self, user_id: str) -> None:
        """Reset the failure count and any lock."""


class SessionStore(abc.ABC):
    """Server-side console sessions, found by the hash of the cookie's token."""

    @abc.abstractmethod
    def add(self, session: ConsoleSession) -> None: ...

    @abc.abstractmethod
    def get(self, token_hash: str) -> ConsoleSession | None: ...

    @abc.abstractmethod
    def touch(self, token_hash: str, *, at: datetime) -> None:
        """Record activity (the idle timeout counts from the last one)."""

    @abc.abstractmethod
    def delete(self, token_hash: str) -> None: ...

    @abc.abstractmethod
    def delete_for_user(self, user_id: str) -> int:
        """End every session of a user (password change, disabling); returns how many."""

    @abc.abstractmethod
    def purge(self, *, now: datetime, idle: timedelta) -> int:
        """Delete expired and idle sessions; returns how many."""


class UnitOfWork(abc.ABC):
    """One transaction over every store: ``with uow: ...; uow.commit()``. Leaving without commit rolls back."""

    tickets: TicketRepository
    idempotency: IdempotencyStore
    jobs: JobQueue
    sla: SlaStore
    messages: MessageLog
    attachments: AttachmentStore
    audit: AuditLog
    keys: KeyStore
    agents: AgentLoadStore
    presence: PresenceStore
    vectors: VectorMemory
    leases: Leases
    alerts: AlertStore
    webhooks: WebhookStore
    feedback: FeedbackStore
    periodic: PeriodicRuns
    analytics: AnalyticsQueries
    users: UserStore
    sessions: SessionStore

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
