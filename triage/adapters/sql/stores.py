"""The stores of :mod:`triage.ports` on one SQLAlchemy connection (one transaction), for SQLite and PostgreSQL.

Concurrency rests on the database, not on process-local locks:

* agent capacity: one conditional ``UPDATE ... SET load = load + 1 WHERE load < capacity``; the row count says who
  won, so routers in different processes never push an agent over capacity;
* job claims: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer at a time, see
  :mod:`triage.adapters.sql.engine`), with a lease so a job held by a killed worker is claimed again;
* escalations: a unique ``(ticket, cycle, rule)`` row, inserted with ``ON CONFLICT DO NOTHING``: a level fires once
  whatever number of schedulers race for it, before or after restarts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, case, delete, false, func, insert, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from triage.adapters.sql import tables as t
from triage.adapters.sql.sla_codec import clock_from_json, clock_to_json
from triage.domain.access import TicketScope
from triage.domain.agents import AgentStatus
from triage.domain.alerts import Alert, AlertType, Severity
from triage.domain.calendar import BusinessCalendar
from triage.domain.escalation import EscalationEvent
from triage.domain.mail import Attachment
from triage.domain.sla import SlaClock
from triage.domain.ticket import Customer, Ticket
from triage.kernel.errors import Conflict, InvalidRequest, KeyTaken
from triage.kernel.ids import ticket_number
from triage.kernel.vocabulary import OPEN_STATUSES, MessageKind, Role, Tier
from triage.ports import (
    AgentLoadStore,
    AlertFilter,
    AlertStore,
    AttachmentStore,
    AuditEntry,
    AuditLog,
    ConsoleSession,
    Correction,
    Delivery,
    FeedbackStore,
    IdempotencyStore,
    Job,
    JobQueue,
    KeyRecord,
    KeyStore,
    Leases,
    Message,
    MessageLog,
    PeriodicRuns,
    PresenceStore,
    SessionStore,
    SlaStore,
    StoredAttachment,
    StoredClock,
    StoredVector,
    TicketFilter,
    TicketPage,
    TicketRepository,
    UserRecord,
    UserStore,
    VectorMemory,
    Webhook,
    WebhookStore,
)


def insert_ignoring_conflicts(connection: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING``; returns whether a row was inserted. Never aborts the transaction."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return connection.execute(statement).first() is not None


def _is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


# --------------------------------------------------------------------------------------------------- tickets
_TICKET_FIELDS = (
    "subject", "body", "channel", "requested_language", "language", "status", "triage_state", "category",
    "priority", "urgency_score", "anger", "repeat_contacts", "repeat_of", "team", "assignee", "triage", "parent",
    "merged_into", "submitted_by", "solution", "csat", "created_at", "updated_at", "accepted_at",
    "first_response_at", "resolved_at", "closed_at", "predicted_category", "predicted_priority",
    "category_model_version", "urgency_model_version", "abstained", "rerouted", "reopen_count", "agent_replies",
    "first_response_s", "first_response_business_s", "handling_s", "handling_business_s", "sla_breached",
)  # fmt: skip


def _ticket_values(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _TICKET_FIELDS}
    for name in ("channel", "status", "triage_state", "priority", "predicted_priority"):
        values[name] = values[name].value if values[name] is not None else None
    values.update(
        customer_id=ticket.customer.id,
        customer_tier=ticket.customer.tier.value,
        customer_email=ticket.customer.email,
        assignment_reasons=list(ticket.assignment_reasons),
        updated_at=ticket.updated_at or ticket.created_at,
    )
    return values


def _ticket_from_row(row: Any) -> Ticket:
    fields = {name: getattr(row, name) for name in _TICKET_FIELDS}
    return Ticket(
        id=row.number,
        number=row.number,
        customer=Customer(id=row.customer_id, tier=row.customer_tier, email=row.customer_email),
        assignment_reasons=tuple(row.assignment_reasons or ()),
        **fields,
    )


class SqlTickets(TicketRepository):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, ticket: Ticket) -> Ticket:
        """Insert, then derive the number from the row's sequence in the same transaction."""
        if ticket.created_at is None:
            raise ValueError("a ticket needs created_at before it is stored")
        row_id = self.connection.execute(
            insert(t.tickets).values(**_ticket_values(ticket)).returning(t.tickets.c.id)
        ).scalar_one()
        number = ticket_number(row_id, year=ticket.created_at.year)
        self.connection.execute(update(t.tickets).where(t.tickets.c.id == row_id).values(number=number))
        ticket.id = ticket.number = number
        return ticket

    def get(self, number: str, *, for_update: bool = False) -> Ticket | None:
        query = select(t.tickets).where(t.tickets.c.number == number)
        if for_update:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return _ticket_from_row(row) if row else None

    def save(self, ticket: Ticket) -> None:
        self.connection.execute(
            update(t.tickets).where(t.tickets.c.number == ticket.number).values(**_ticket_values(ticket))
        )

    def list(
        self, scope: TicketScope, filters: TicketFilter, *, cursor: str | None, limit: int, now: datetime
    ) -> TicketPage:
        c = t.tickets.c
        query = select(t.tickets).order_by(c.id.desc()).limit(limit + 1)
        query = query.where(_in_scope(scope))
        for column, value in (("status", filters.status), ("team", filters.team), ("priority", filters.priority),
                              ("assignee", filters.assignee), ("triage_state", filters.triage_state)):  # fmt: skip
            if value is not None:
                query = query.where(getattr(c, column) == str(value))
        if filters.breached is not None:
            late = select(t.sla_clocks.c.number).where(
                or_(t.sla_clocks.c.first_response_due < now, t.sla_clocks.c.resolution_due < now)
            )
            query = query.where(c.number.in_(late) if filters.breached else c.number.not_in(late))
        if cursor:
            query = query.where(c.id < _decode_cursor(cursor))
        rows = self.connection.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return TicketPage([_ticket_from_row(r) for r in rows], _encode_cursor(rows[-1].id) if more else None)

    def category_decisions(self, *, since: datetime, limit: int) -> list[tuple[float, str | None]]:
        c = t.tickets.c
        rows = self.connection.execute(
            select(c.triage).where(c.created_at >= since, c.triage_state == "done", c.triage.is_not(None))
            .order_by(c.id.desc()).limit(limit)
        ).scalars()  # fmt: skip
        return [(float(r["category"]["confidence"]), r["category"]["abstain_reason"]) for r in rows if r]

    def open_for_agent(self, agent_id: str) -> list[Ticket]:
        c = t.tickets.c
        rows = self.connection.execute(
            select(t.tickets)
            .where(c.assignee == agent_id, c.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(c.id)
        ).all()
        return [_ticket_from_row(r) for r in rows]

    def open_by_due(self, scope: TicketScope, filters: TicketFilter, *, limit: int) -> list[Ticket]:
        c, s = t.tickets.c, t.sla_clocks.c
        # The next deadline: first response while it runs, else resolution (a stopped or paused metric is NULL).
        due = case((and_(s.first_response_due.is_not(None),
                         or_(s.resolution_due.is_(None), s.first_response_due < s.resolution_due)),
                    s.first_response_due), else_=s.resolution_due)  # fmt: skip
        query = (
            select(t.tickets).select_from(t.tickets.outerjoin(t.sla_clocks, s.number == c.number))
            .where(c.status.in_([status.value for status in OPEN_STATUSES]), _in_scope(scope))
            .order_by(due.is_(None), due, c.id).limit(limit)
        )  # fmt: skip
        for column, value in (("status", filters.status), ("team", filters.team), ("priority", filters.priority),
                              ("assignee", filters.assignee), ("triage_state", filters.triage_state)):  # fmt: skip
            if value is not None:
                query = query.where(getattr(c, column) == str(value))
        return [_ticket_from_row(r) for r in self.connection.execute(query).all()]


def _in_scope(scope: TicketScope) -> Any:
    """The SQL condition of a principal's ticket scope."""
    c = t.tickets.c
    if scope.everything:
        return true()
    allowed = []
    if scope.submitted_by is not None:
        allowed.append(c.submitted_by == scope.submitted_by)
    if scope.teams:
        allowed.append(c.team.in_(sorted(scope.teams)))
    if scope.assignee is not None:
        allowed.append(c.assignee == scope.assignee)
    return or_(*allowed) if allowed else false()


def _encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": row_id}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(json.loads(base64.urlsafe_b64decode(padded))["before"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(f"cursor {cursor!r} is not one this service issued; start again without a cursor") from exc


# --------------------------------------------------------------------------------------------------- idempotency
class SqlIdempotency(IdempotencyStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def find(self, principal_id: str, key: str) -> tuple[str, str] | None:
        c = t.idempotency_keys.c
        row = self.connection.execute(
            select(c.request_hash, c.number).where(c.principal_id == principal_id, c.key == key)
        ).first()
        return (row.request_hash, row.number) if row else None

    def remember(self, principal_id: str, key: str, request_hash: str, number: str, *, at: datetime) -> None:
        values = {"principal_id": principal_id, "key": key, "request_hash": request_hash, "number": number,
                  "created_at": at}  # fmt: skip
        if not insert_ignoring_conflicts(self.connection, t.idempotency_keys, values):
            raise KeyTaken(f"idempotency key {key!r} was taken by a concurrent request; retry to get its ticket")


# --------------------------------------------------------------------------------------------------- jobs
class SqlJobs(JobQueue):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def enqueue(self, kind: str, number: str, *, at: datetime) -> None:
        self.connection.execute(
            insert(t.jobs).values(kind=kind, number=number, state="queued", attempts=0, run_after=at, created_at=at)
        )

    def claim(self, kind: str, worker: str, *, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        c = t.jobs.c
        claimable = or_(and_(c.state == "queued", c.run_after <= now), and_(c.state == "running", c.lease_until < now))
        pick = select(c.id).where(c.kind == kind, claimable).order_by(c.id).limit(limit)
        if _is_postgres(self.connection):
            pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(t.jobs)
            .where(c.id.in_(pick.scalar_subquery()))
            .values(state="running", claimed_by=worker, lease_until=now + lease, attempts=c.attempts + 1)
            .returning(c.id, c.kind, c.number, c.attempts)
        )
        rows = self.connection.execute(statement).all()
        return sorted(
            (Job(id=r.id, kind=r.kind, number=r.number, attempts=r.attempts) for r in rows), key=lambda j: j.id
        )

    def complete(self, job: Job, worker: str, *, now: datetime) -> bool:
        c = t.jobs.c
        done = self.connection.execute(
            update(t.jobs)
            .where(c.id == job.id, c.claimed_by == worker, c.state == "running")
            .values(state="done", finished_at=now, lease_until=None)
        )
        return done.rowcount == 1

    def retry(self, job: Job, worker: str, *, error: str, run_after: datetime | None, now: datetime) -> None:
        c = t.jobs.c
        values: dict[str, Any] = {"last_error": error[:2000], "claimed_by": None, "lease_until": None}
        if run_after is None:
            values.update(state="failed", finished_at=now)
        else:
            values.update(state="queued", run_after=run_after)
        self.connection.execute(update(t.jobs).where(c.id == job.id, c.claimed_by == worker).values(**values))

    def release_claims(self, worker: str) -> int:
        c = t.jobs.c
        released = self.connection.execute(
            update(t.jobs)
            .where(c.claimed_by == worker, c.state == "running")
            .values(state="queued", claimed_by=None, lease_until=None, attempts=c.attempts - 1)
        )
        return released.rowcount

    def depth(self, kind: str, *, now: datetime) -> tuple[int, float]:
        c = t.jobs.c
        row = self.connection.execute(
            select(func.count(), func.min(c.created_at)).where(c.kind == kind, c.state.in_(["queued", "running"]))
        ).one()
        oldest = t.UtcDateTime().process_result_value(row[1], self.connection.dialect) if row[1] else None
        return int(row[0]), (now - oldest).total_seconds() if oldest else 0.0


# --------------------------------------------------------------------------------------------------- SLA
class SqlSla(SlaStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def put(self, number: str, clock: SlaClock, *, next_check_at: datetime | None, now: datetime) -> None:
        values = {
            "state": clock_to_json(clock),
            "first_response_due": clock.due_at("first_response"),
            "resolution_due": clock.due_at("resolution"),
            "ever_breached": clock.ever_breached(now),
            "next_check_at": next_check_at,
        }
        c = t.sla_clocks.c
        if self.connection.execute(update(t.sla_clocks).where(c.number == number).values(**values)).rowcount == 0:
            self.connection.execute(insert(t.sla_clocks).values(number=number, **values))

    def get(self, number: str, calendars: Mapping[str, BusinessCalendar]) -> StoredClock | None:
        row = self.connection.execute(select(t.sla_clocks.c.state).where(t.sla_clocks.c.number == number)).first()
        if row is None:
            return None
        e = t.escalations.c
        fired = self.connection.execute(select(e.cycle, e.rule).where(e.number == number)).all()
        return StoredClock(
            clock=clock_from_json(row.state, calendars), fired=frozenset((r.cycle, r.rule) for r in fired)
        )

    def due(self, now: datetime, *, limit: int) -> list[str]:
        c = t.sla_clocks.c
        query = select(c.number).where(c.next_check_at <= now).order_by(c.next_check_at).limit(limit)
        if _is_postgres(self.connection):
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).scalars())

    def record_escalation(self, event: EscalationEvent) -> bool:
        values = {"number": event.ticket_id, "cycle": event.cycle, "rule": event.rule, "metric": event.metric,
                  "notify": event.notify, "recipient": event.recipient, "threshold_at": event.threshold_at,
                  "fired_at": event.fired_at}  # fmt: skip
        return insert_ignoring_conflicts(self.connection, t.escalations, values)

    def escalations(self, number: str) -> list[EscalationEvent]:
        e = t.escalations.c
        rows = self.connection.execute(select(t.escalations).where(e.number == number).order_by(e.id)).all()
        return [
            EscalationEvent(ticket_id=r.number, rule=r.rule, metric=r.metric, notify=r.notify, cycle=r.cycle,
                            threshold_at=r.threshold_at, fired_at=r.fired_at, recipient=r.recipient)
            for r in rows
        ]  # fmt: skip

    def clocks(self, numbers: list[str], calendars: Mapping[str, BusinessCalendar]) -> dict[str, SlaClock]:
        if not numbers:
            return {}
        c = t.sla_clocks.c
        rows = self.connection.execute(select(c.number, c.state).where(c.number.in_(numbers))).all()
        return {r.number: clock_from_json(r.state, calendars) for r in rows}


# --------------------------------------------------------------------------------------------------- thread, audit
class SqlMessages(MessageLog):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, message: Message) -> None:
        self.connection.execute(
            insert(t.messages).values(number=message.number, kind=message.kind.value, author=message.author,
                                      body=message.body, mentions=list(message.mentions), created_at=message.created_at,
                                      anger=message.anger)
        )  # fmt: skip

    def thread(self, number: str) -> list[Message]:
        m = t.messages.c
        rows = self.connection.execute(select(t.messages).where(m.number == number).order_by(m.id)).all()
        return [Message(r.number, MessageKind(r.kind), r.author, r.body, tuple(r.mentions), r.created_at, r.anger)
                for r in rows]  # fmt: skip

    def set_anger(self, number: str, created_at: datetime, anger: float) -> None:
        """Record the anger the sentiment model read in a customer message."""
        m = t.messages.c
        self.connection.execute(update(t.messages).where(m.number == number, m.created_at == created_at,
                                                         m.kind == MessageKind.CUSTOMER.value).values(anger=anger))  # fmt: skip


class SqlAttachments(AttachmentStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, number: str, message_key: str, attachments: Sequence[Attachment], *, at: datetime) -> None:
        if attachments:
            self.connection.execute(insert(t.email_attachments), [
                {"number": number, "message_key": message_key, "filename": a.filename, "content_type": a.content_type,
                 "size_bytes": a.size, "received_at": at} for a in attachments
            ])  # fmt: skip

    def of(self, number: str) -> list[StoredAttachment]:
        a = t.email_attachments.c
        rows = self.connection.execute(select(t.email_attachments).where(a.number == number).order_by(a.id)).all()
        return [StoredAttachment(r.number, r.message_key, r.filename, r.content_type, r.size_bytes, r.received_at)
                for r in rows]  # fmt: skip


class SqlAudit(AuditLog):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, entry: AuditEntry) -> None:
        self.connection.execute(
            insert(t.audit_log).values(at=entry.at, actor=entry.actor, action=entry.action, number=entry.number,
                                       before=_jsonable(entry.before), after=_jsonable(entry.after))
        )  # fmt: skip

    def entries(self, number: str) -> list[AuditEntry]:
        a = t.audit_log.c
        rows = self.connection.execute(select(t.audit_log).where(a.number == number).order_by(a.id)).all()
        return [AuditEntry(r.at, r.actor, r.action, r.number, r.before, r.after) for r in rows]


def _jsonable(value: Mapping[str, Any] | None) -> Any:
    return None if value is None else json.loads(json.dumps(value, default=str, ensure_ascii=False))


# --------------------------------------------------------------------------------------------------- keys
class SqlKeys(KeyStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, record: KeyRecord, key_hash: str) -> None:
        self.connection.execute(
            insert(t.api_keys).values(id=record.id, name=record.name, role=record.role.value,
                                      teams=sorted(record.teams), agent_id=record.agent_id, key_hash=key_hash,
                                      created_at=record.created_at)
        )  # fmt: skip

    def by_hash(self, key_hash: str) -> KeyRecord | None:
        row = self.connection.execute(select(t.api_keys).where(t.api_keys.c.key_hash == key_hash)).first()
        return _key_from_row(row) if row else None

    def all(self) -> list[KeyRecord]:
        rows = self.connection.execute(select(t.api_keys).order_by(t.api_keys.c.created_at)).all()
        return [_key_from_row(r) for r in rows]

    def revoke(self, key_id: str, *, at: datetime) -> bool:
        k = t.api_keys.c
        done = self.connection.execute(
            update(t.api_keys).where(k.id == key_id, k.revoked_at.is_(None)).values(revoked_at=at)
        )
        return done.rowcount == 1


def _key_from_row(row: Any) -> KeyRecord:
    return KeyRecord(id=row.id, name=row.name, role=Role(row.role), teams=frozenset(row.teams), agent_id=row.agent_id,
                     created_at=row.created_at, revoked_at=row.revoked_at)  # fmt: skip


# --------------------------------------------------------------------------------------------------- console users
def _user_from_row(row: Any) -> UserRecord:
    return UserRecord(id=row.id, username=row.username, role=Role(row.role), teams=frozenset(row.teams),
                      agent_id=row.agent_id, created_at=row.created_at, disabled_at=row.disabled_at,
                      failed_logins=int(row.failed_logins or 0), locked_until=row.locked_until)  # fmt: skip


class SqlUsers(UserStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, user: UserRecord, password_hash: str) -> None:
        values = {"id": user.id, "username": user.username, "password_hash": password_hash, "role": user.role.value,
                  "teams": sorted(user.teams), "agent_id": user.agent_id, "created_at": user.created_at}  # fmt: skip
        if not insert_ignoring_conflicts(self.connection, t.users, values):
            raise Conflict(f"the username {user.username!r} is taken")

    def by_username(self, username: str) -> tuple[UserRecord, str] | None:
        row = self.connection.execute(select(t.users).where(t.users.c.username == username)).first()
        return (_user_from_row(row), row.password_hash) if row else None

    def get(self, user_id: str) -> UserRecord | None:
        row = self.connection.execute(select(t.users).where(t.users.c.id == user_id)).first()
        return _user_from_row(row) if row else None

    def all(self) -> list[UserRecord]:
        return [_user_from_row(r) for r in self.connection.execute(select(t.users).order_by(t.users.c.username)).all()]

    def set_password(self, user_id: str, password_hash: str) -> None:
        self.connection.execute(update(t.users).where(t.users.c.id == user_id).values(
            password_hash=password_hash, failed_logins=0, locked_until=None))  # fmt: skip

    def disable(self, user_id: str, *, at: datetime) -> bool:
        u = t.users.c
        return self.connection.execute(
            update(t.users).where(u.id == user_id, u.disabled_at.is_(None)).values(disabled_at=at)
        ).rowcount == 1

    def login_failed(self, user_id: str, *, locked_until: datetime | None) -> int:
        u = t.users.c
        values: dict[str, Any] = {"failed_logins": u.failed_logins + 1}
        if locked_until is not None:
            values["locked_until"] = locked_until
        return int(self.connection.execute(
            update(t.users).where(u.id == user_id).values(**values).returning(u.failed_logins)
        ).scalar_one())  # fmt: skip

    def login_succeeded(self, user_id: str) -> None:
        self.connection.execute(update(t.users).where(t.users.c.id == user_id).values(failed_logins=0,
                                                                                       locked_until=None))  # fmt: skip


def _session_from_row(row: Any) -> ConsoleSession:
    return ConsoleSession(token_hash=row.token_hash, user_id=row.user_id, csrf_token=row.csrf_token,
                          time_zone=row.time_zone, created_at=row.created_at, expires_at=row.expires_at,
                          last_seen_at=row.last_seen_at)  # fmt: skip


class SqlSessions(SessionStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, session: ConsoleSession) -> None:
        self.connection.execute(insert(t.console_sessions).values(
            token_hash=session.token_hash, user_id=session.user_id, csrf_token=session.csrf_token,
            time_zone=session.time_zone, created_at=session.created_at, expires_at=session.expires_at,
            last_seen_at=session.last_seen_at))  # fmt: skip

    def get(self, token_hash: str) -> ConsoleSession | None:
        s = t.console_sessions.c
        row = self.connection.execute(select(t.console_sessions).where(s.token_hash == token_hash)).first()
        return _session_from_row(row) if row else None

    def touch(self, token_hash: str, *, at: datetime) -> None:
        s = t.console_sessions.c
        self.connection.execute(update(t.console_sessions).where(s.token_hash == token_hash).values(last_seen_at=at))

    def delete(self, token_hash: str) -> None:
        self.connection.execute(delete(t.console_sessions).where(t.console_sessions.c.token_hash == token_hash))

    def delete_for_user(self, user_id: str) -> int:
        return self.connection.execute(delete(t.console_sessions).where(t.console_sessions.c.user_id == user_id)).rowcount

    def purge(self, *, now: datetime, idle: timedelta) -> int:
        s = t.console_sessions.c
        return self.connection.execute(
            delete(t.console_sessions).where(or_(s.expires_at <= now, s.last_seen_at <= now - idle))
        ).rowcount


# --------------------------------------------------------------------------------------------------- agents
class SqlAgents(AgentLoadStore, PresenceStore):
    """Agent loads, assignment order and presence in ``agent_loads``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _ensure(self, agent_id: str) -> None:
        insert_ignoring_conflicts(self.connection, t.agent_loads, {"agent_id": agent_id, "load": 0, "last_assigned": 0})

    def claim(self, agent_id: str, capacity: int) -> bool:
        self._ensure(agent_id)
        c = t.agent_loads.c
        taken = self.connection.execute(
            update(t.agent_loads).where(c.agent_id == agent_id, c.load < capacity).values(load=c.load + 1)
        )
        return taken.rowcount == 1

    def release(self, agent_id: str) -> None:
        c = t.agent_loads.c
        self.connection.execute(update(t.agent_loads).where(c.agent_id == agent_id, c.load > 0).values(load=c.load - 1))

    def load_of(self, agent_id: str) -> int:
        return self.loads([agent_id])[agent_id]

    def loads(self, agent_ids: list[str]) -> dict[str, int]:
        c = t.agent_loads.c
        found = dict(self.connection.execute(select(c.agent_id, c.load).where(c.agent_id.in_(agent_ids))).all())
        return {agent_id: int(found.get(agent_id, 0)) for agent_id in agent_ids}

    def mark_assigned(self, agent_id: str) -> None:
        self._ensure(agent_id)
        c = t.agent_loads.c
        latest = select(func.coalesce(func.max(c.last_assigned), 0) + 1).scalar_subquery()
        self.connection.execute(update(t.agent_loads).where(c.agent_id == agent_id).values(last_assigned=latest))

    def last_assigned(self, agent_ids: list[str]) -> dict[str, int]:
        c = t.agent_loads.c
        rows = self.connection.execute(
            select(c.agent_id, c.last_assigned).where(c.agent_id.in_(agent_ids), c.last_assigned > 0)
        ).all()
        return {r.agent_id: int(r.last_assigned) for r in rows}

    def presence(self) -> dict[str, AgentStatus]:
        c = t.agent_loads.c
        rows = self.connection.execute(select(c.agent_id, c.presence).where(c.presence.is_not(None))).all()
        return {r.agent_id: AgentStatus(r.presence) for r in rows}

    def set_presence(self, agent_id: str, status: AgentStatus | None) -> None:
        self._ensure(agent_id)
        c = t.agent_loads.c
        self.connection.execute(
            update(t.agent_loads).where(c.agent_id == agent_id).values(presence=status.value if status else None)
        )


# --------------------------------------------------------------------------------------------------- vectors, leases
class SqlVectors(VectorMemory):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, number: str, *, customer_id: str, encoder_id: str, vector: bytes, at: datetime) -> None:
        insert_ignoring_conflicts(self.connection, t.ticket_vectors, {"number": number, "customer_id": customer_id,
                                  "encoder_id": encoder_id, "vector": vector, "created_at": at})  # fmt: skip

    def since(self, after_id: int, *, not_before: datetime, encoder_id: str) -> list[StoredVector]:
        v = t.ticket_vectors.c
        rows = self.connection.execute(
            select(t.ticket_vectors)
            .where(v.id > after_id, v.created_at >= not_before, v.encoder_id == encoder_id)
            .order_by(v.id)
        ).all()
        return [StoredVector(r.id, r.number, r.customer_id, r.created_at, bytes(r.vector)) for r in rows]


    def abstained(self, *, not_before: datetime, encoder_id: str, limit: int) -> list[tuple[str, str, bytes]]:
        v, c = t.ticket_vectors.c, t.tickets.c
        rows = self.connection.execute(
            select(v.number, c.subject, c.body, v.vector).join(t.tickets, c.number == v.number)
            .where(c.abstained.is_(True), v.created_at >= not_before, v.encoder_id == encoder_id)
            .order_by(v.id.desc()).limit(limit)
        ).all()  # fmt: skip
        return [(r.number, r.subject or r.body[:80], bytes(r.vector)) for r in rows]


class SqlLeases(Leases):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def acquire(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        c = t.leases.c
        if insert_ignoring_conflicts(self.connection, t.leases, {"name": name, "holder": holder, "until": now + ttl}):
            return True
        taken = self.connection.execute(
            update(t.leases)
            .where(c.name == name, or_(c.holder == holder, c.until < now))
            .values(holder=holder, until=now + ttl)
        )
        return taken.rowcount == 1

    def release(self, name: str, holder: str) -> None:
        self.connection.execute(delete(t.leases).where(t.leases.c.name == name, t.leases.c.holder == holder))


# --------------------------------------------------------------------------------------------------- alerts
def _alert_from_row(row: Any) -> Alert:
    return Alert(type=AlertType(row.type), severity=Severity(row.severity), reason=row.reason, created_at=row.created_at,
                 number=row.number, team=row.team, tier=Tier(row.tier), related=tuple(row.related),
                 details=dict(row.details), id=row.id, acknowledged_at=row.acknowledged_at,
                 acknowledged_by=row.acknowledged_by)  # fmt: skip


class SqlAlerts(AlertStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, alert: Alert) -> Alert:
        values = {"type": alert.type.value, "severity": alert.severity.value, "reason": alert.reason,
                  "number": alert.number, "team": alert.team, "tier": alert.tier.value, "related": list(alert.related),
                  "details": _jsonable(alert.details), "created_at": alert.created_at}  # fmt: skip
        alert_id = self.connection.execute(insert(t.alerts).values(**values).returning(t.alerts.c.id)).scalar_one()
        return replace(alert, id=int(alert_id))

    def list(
        self, filters: AlertFilter, *, teams: frozenset[str] | None, after_id: int = 0, limit: int = 100
    ) -> list[Alert]:
        a = t.alerts.c
        query = select(t.alerts).where(a.id > after_id).order_by(a.id).limit(limit)
        if teams is not None:
            query = query.where(a.team.in_(sorted(teams)))
        for column, value in (("type", filters.type), ("severity", filters.severity), ("team", filters.team),
                              ("number", filters.number)):  # fmt: skip
            if value is not None:
                query = query.where(getattr(a, column) == str(value))
        if filters.acknowledged is not None:
            query = query.where(a.acknowledged_at.is_not(None) if filters.acknowledged else a.acknowledged_at.is_(None))
        if filters.since is not None:
            query = query.where(a.created_at >= filters.since)
        if filters.until is not None:
            query = query.where(a.created_at < filters.until)
        return [_alert_from_row(r) for r in self.connection.execute(query).all()]

    def get(self, alert_id: int) -> Alert | None:
        row = self.connection.execute(select(t.alerts).where(t.alerts.c.id == alert_id)).first()
        return _alert_from_row(row) if row else None

    def acknowledge(self, alert_id: int, *, by: str, at: datetime) -> bool:
        a = t.alerts.c
        done = self.connection.execute(
            update(t.alerts)
            .where(a.id == alert_id, a.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=by)
        )
        return done.rowcount == 1

    def latest_id(self) -> int:
        return int(self.connection.execute(select(func.coalesce(func.max(t.alerts.c.id), 0))).scalar_one())

    def exists(self, alert_type: AlertType, *, number: str | None, since: datetime) -> bool:
        a = t.alerts.c
        query = select(a.id).where(a.type == alert_type.value, a.created_at >= since).limit(1)
        query = query.where(a.number == number) if number is not None else query.where(a.number.is_(None))
        return self.connection.execute(query).first() is not None


# --------------------------------------------------------------------------------------------------- webhooks
def _delivery_from_row(row: Any) -> Delivery:
    return Delivery(id=row.id, webhook_id=row.webhook_id, alert_id=row.alert_id, event=row.event, body=row.body,
                    state=row.state, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                    last_status=row.last_status, last_error=row.last_error, delivered_at=row.delivered_at)  # fmt: skip


class SqlWebhooks(WebhookStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, webhook: Webhook) -> None:
        self.connection.execute(insert(t.webhooks).values(id=webhook.id, url=webhook.url, secret=webhook.secret,
                                events=sorted(e.value for e in webhook.events), active=webhook.active,
                                created_at=webhook.created_at, created_by=webhook.created_by))  # fmt: skip

    def all(self) -> list[Webhook]:
        rows = self.connection.execute(select(t.webhooks).order_by(t.webhooks.c.created_at)).all()
        return [_webhook_from_row(r) for r in rows]

    def get(self, webhook_id: str) -> Webhook | None:
        row = self.connection.execute(select(t.webhooks).where(t.webhooks.c.id == webhook_id)).first()
        return _webhook_from_row(row) if row else None

    def deactivate(self, webhook_id: str) -> bool:
        w = t.webhooks.c
        return (
            self.connection.execute(
                update(t.webhooks).where(w.id == webhook_id, w.active).values(active=False)
            ).rowcount
            == 1
        )

    def enqueue(self, webhook_id: str, alert_id: int, event: str, body: str, *, at: datetime) -> int:
        values = {"webhook_id": webhook_id, "alert_id": alert_id, "event": event, "body": body, "state": "pending",
                  "attempts": 0, "next_attempt_at": at, "created_at": at}  # fmt: skip
        return int(
            self.connection.execute(insert(t.deliveries).values(**values).returning(t.deliveries.c.id)).scalar_one()
        )

    def claim(self, worker: str, *, limit: int, lease: timedelta, now: datetime) -> list[Delivery]:
        d = t.deliveries.c
        pick = select(d.id).where(d.state == "pending", d.next_attempt_at <= now,
                                  or_(d.lease_until.is_(None), d.lease_until < now)).order_by(d.id).limit(limit)  # fmt: skip
        if _is_postgres(self.connection):
            pick = pick.with_for_update(skip_locked=True)
        rows = self.connection.execute(
            update(t.deliveries).where(d.id.in_(pick.scalar_subquery()))
            .values(claimed_by=worker, lease_until=now + lease, attempts=d.attempts + 1).returning(*t.deliveries.c)
        ).all()  # fmt: skip
        return sorted((_delivery_from_row(r) for r in rows), key=lambda x: x.id)

    def delivered(self, delivery_id: int, worker: str, *, status: int, at: datetime) -> None:
        d = t.deliveries.c
        self.connection.execute(update(t.deliveries).where(d.id == delivery_id, d.claimed_by == worker).values(
            state="delivered", delivered_at=at, last_status=status, last_error=None, lease_until=None))  # fmt: skip

    def failed(self, delivery_id: int, worker: str, *, status: int | None, error: str,
               retry_at: datetime | None, at: datetime) -> None:  # fmt: skip
        d = t.deliveries.c
        values: dict[str, Any] = {"last_status": status, "last_error": error[:2000], "lease_until": None}
        values.update({"state": "dead"} if retry_at is None else {"next_attempt_at": retry_at})
        self.connection.execute(
            update(t.deliveries).where(d.id == delivery_id, d.claimed_by == worker).values(**values)
        )

    def redeliver(self, delivery_id: int, *, at: datetime) -> bool:
        d = t.deliveries.c
        done = self.connection.execute(update(t.deliveries).where(d.id == delivery_id, d.state != "pending").values(
            state="pending", next_attempt_at=at, attempts=0, lease_until=None, claimed_by=None))  # fmt: skip
        return done.rowcount == 1

    def deliveries(self, *, webhook_id: str | None, state: str | None, limit: int) -> list[Delivery]:
        d = t.deliveries.c
        query = select(t.deliveries).order_by(d.id.desc()).limit(limit)
        if webhook_id is not None:
            query = query.where(d.webhook_id == webhook_id)
        if state is not None:
            query = query.where(d.state == state)
        return [_delivery_from_row(r) for r in self.connection.execute(query).all()]


def _webhook_from_row(row: Any) -> Webhook:
    return Webhook(id=row.id, url=row.url, secret=row.secret, events=frozenset(AlertType(e) for e in row.events),
                   active=row.active, created_at=row.created_at, created_by=row.created_by)  # fmt: skip


# --------------------------------------------------------------------------------------------------- feedback
class SqlFeedback(FeedbackStore):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_correction(self, correction: Correction) -> None:
        self.connection.execute(insert(t.corrections).values(
            number=correction.number, field=correction.field, model_version=correction.model_version,
            predicted=correction.predicted, corrected=correction.corrected, actor=correction.actor,
            created_at=correction.created_at))  # fmt: skip

    def rate_suggestion(self, number: str, article_id: str, *, helpful: bool, actor: str, at: datetime) -> bool:
        f = t.suggestion_feedback.c
        previous = self.connection.execute(
            select(f.helpful).where(f.number == number, f.article_id == article_id, f.actor == actor)
        ).first()
        if previous is not None:
            if previous.helpful == helpful:
                return False
            self.connection.execute(update(t.suggestion_feedback).where(
                f.number == number, f.article_id == article_id, f.actor == actor).values(helpful=helpful, created_at=at,
                                                                                          applied=False))  # fmt: skip
            return True
        return insert_ignoring_conflicts(self.connection, t.suggestion_feedback, {
            "number": number, "article_id": article_id, "helpful": helpful, "actor": actor, "created_at": at})  # fmt: skip

    def votes(self, number: str, actor: str) -> dict[str, bool]:
        f = t.suggestion_feedback.c
        rows = self.connection.execute(select(f.article_id, f.helpful).where(f.number == number, f.actor == actor)).all()
        return {r.article_id: bool(r.helpful) for r in rows}

    def unapplied_votes(self, number: str) -> list[tuple[str, bool]]:
        f = t.suggestion_feedback.c
        rows = self.connection.execute(
            select(f.article_id, f.helpful).where(f.number == number, f.applied.is_(False)).order_by(f.id)
        ).all()
        return [(r.article_id, bool(r.helpful)) for r in rows]

    def mark_votes_applied(self, number: str) -> None:
        f = t.suggestion_feedback.c
        self.connection.execute(update(t.suggestion_feedback).where(f.number == number).values(applied=True))

    def quality(self, *, since: datetime | None) -> dict[str, Any]:
        models = []
        for task, version_col, predicted_col, field in (
            ("category", t.tickets.c.category_model_version, t.tickets.c.predicted_category, "category"),
            ("urgency", t.tickets.c.urgency_model_version, t.tickets.c.predicted_priority, "priority"),
        ):
            models.extend(self._quality_of(task, version_col, predicted_col, field, since))
        return {"models": models}

    def _quality_of(
        self, task: str, version_col: Any, predicted_col: Any, field: str, since: datetime | None
    ) -> list[dict[str, Any]]:
        c = t.tickets.c
        corrected = select(t.corrections.c.number).where(t.corrections.c.field == field).distinct().subquery()
        answered = c.abstained.is_(False) if task == "category" else c.triage_state == "done"
        query = (
            select(
                version_col.label("version"), predicted_col.label("label"), func.count().label("triaged"),
                func.sum(case((c.abstained.is_(True), 1), else_=0)).label("abstained"),
                func.sum(case((c.rerouted.is_(True), 1), else_=0)).label("rerouted"),
                func.sum(case((and_(answered, corrected.c.number.is_not(None)), 1), else_=0)).label("corrected"),
            )
            .select_from(t.tickets.outerjoin(corrected, corrected.c.number == c.number))
            .where(version_col.is_not(None))
            .group_by(version_col, predicted_col)
        )  # fmt: skip
        if since is not None:
            query = query.where(c.created_at >= since)
        by_version: dict[str, dict[str, Any]] = {}
        for row in self.connection.execute(query).all():
            entry = by_version.setdefault(row.version, {"task": task, "version": row.version, "triaged": 0,
                                                        "abstained": 0, "rerouted": 0, "corrected": 0, "labels": []})  # fmt: skip
            triaged, abstained, corrected_n = int(row.triaged), int(row.abstained or 0), int(row.corrected or 0)
            answered_n = triaged - abstained if task == "category" else triaged
            entry["triaged"] += triaged
            entry["abstained"] += abstained
            entry["rerouted"] += int(row.rerouted or 0)
            entry["corrected"] += corrected_n
            entry["labels"].append({"label": row.label, "answered": answered_n, "corrected": corrected_n,
                                    "live_accuracy": _ratio(answered_n - corrected_n, answered_n)})  # fmt: skip
        for entry in by_version.values():
            answered_n = entry["triaged"] - entry["abstained"] if task == "category" else entry["triaged"]
            entry.update(answered=answered_n, live_accuracy=_ratio(answered_n - entry["corrected"], answered_n),
                         abstain_rate=_ratio(entry["abstained"], entry["triaged"]),
                         rerouted_share=_ratio(entry["rerouted"], entry["triaged"]))  # fmt: skip
            entry["labels"].sort(key=lambda item: (-item["answered"], str(item["label"])))
        return sorted(by_version.values(), key=lambda e: e["version"])

    def corrected_tickets(self, *, since: datetime | None) -> list[dict[str, Any]]:
        r = t.corrections.c
        fixed = select(r.number, func.max(r.created_at).label("corrected_at")).group_by(r.number)
        if since is not None:
            fixed = fixed.where(r.created_at >= since)
        fixed_sub = fixed.subquery()
        c = t.tickets.c
        rows = self.connection.execute(
            select(c.number, c.subject, c.body, c.language, c.category, c.priority, c.predicted_category,
                   c.predicted_priority, c.category_model_version, c.urgency_model_version, fixed_sub.c.corrected_at)
            .join(fixed_sub, fixed_sub.c.number == c.number).order_by(c.id)
        ).all()  # fmt: skip
        return [dict(row._mapping) for row in rows]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class SqlPeriodic(PeriodicRuns):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, name: str, *, every: timedelta, now: datetime) -> bool:
        if insert_ignoring_conflicts(self.connection, t.periodic_runs, {"name": name, "last_run_at": now}):
            return True
        p = t.periodic_runs.c
        taken = self.connection.execute(
            update(t.periodic_runs).where(p.name == name, p.last_run_at <= now - every).values(last_run_at=now)
        )
        return taken.rowcount == 1
