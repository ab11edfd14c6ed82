"""The database schema, as SQLAlchemy Core tables. Alembic migrations (``triage/adapters/migrations``) create it.

Times are stored in UTC and come back timezone-aware on SQLite and PostgreSQL alike (:class:`UtcDateTime`).
Child tables reference a ticket by its number, which is unique and what every caller uses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC (SQLite has no time zones), returned aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime {value.isoformat()}; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

NUMBER = String(32)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the sequence behind the number
    Column("number", NUMBER, unique=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("customer_id", String(200), nullable=False, index=True),
    Column("customer_tier", String(16), nullable=False),
    Column("customer_email", String(320)),
    Column("requested_language", String(16)),
    Column("language", String(16)),
    Column("status", String(24), nullable=False),
    Column("triage_state", String(16), nullable=False),
    Column("category", String(200)),
    Column("priority", String(4)),
    Column("urgency_score", Float),
    Column("anger", Float, nullable=False),
    Column("repeat_contacts", Integer, nullable=False),
    Column("repeat_of", NUMBER),
    Column("team", String(100)),
    Column("assignee", String(100)),
    Column("assignment_reasons", JSON, nullable=False),
    Column("triage", JSON),
    Column("parent", NUMBER),
    Column("merged_into", NUMBER),
    Column("submitted_by", String(64)),
    Column("solution", Text),
    Column("csat", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("accepted_at", UtcDateTime),
    Column("first_response_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    # What the models said at triage, and what analytics need, kept as columns so SQL can aggregate them.
    Column("predicted_category", String(200)),
    Column("predicted_priority", String(4)),
    Column("category_model_version", String(100)),
    Column("urgency_model_version", String(100)),
    Column("abstained", Boolean),
    Column("rerouted", Boolean, nullable=False, server_default="0"),
    Column("reopen_count", Integer, nullable=False, server_default="0"),
    Column("agent_replies", Integer, nullable=False, server_default="0"),
    Column("first_response_s", Float),  # calendar seconds from creation to the first reply
    Column("first_response_business_s", Float),  # the same on the SLA's business calendar
    Column("handling_s", Float),  # calendar seconds from creation to (the last) resolution
    Column("handling_business_s", Float),
    Column("sla_breached", Boolean),  # set at resolution: did any SLA cycle breach?
    Index(None, "status", "team"),
    Index(None, "team", "priority"),
    Index(None, "assignee"),
    Index(None, "submitted_by"),
    Index(None, "created_at"),
    Index(None, "parent"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False),
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False),
    Column("run_after", UtcDateTime, nullable=False),
    Column("claimed_by", String(100)),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Index(None, "kind", "state", "run_after"),
    Index(None, "number"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("author", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("mentions", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("anger", Float),  # customer messages: anger as the sentiment model read it
)

email_attachments = Table(
    "email_attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False, index=True),
    Column("message_key", String(200), nullable=False),  # the email's Message-ID (its deduplication key)
    Column("filename", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size_bytes", Integer, nullable=False),  # metadata only: the content is not kept
    Column("received_at", UtcDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("number", NUMBER, index=True),
    Column("before", JSON),
    Column("after", JSON),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("teams", JSON, nullable=False),
    Column("agent_id", String(100)),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

agent_loads = Table(
    "agent_loads",
    metadata,
    Column("agent_id", String(128), primary_key=True),
    Column("load", Integer, nullable=False),
    Column("last_assigned", Integer, nullable=False),
    Column("presence", String(16)),  # a manual override (online, away, offline); NULL follows the shifts
)

sla_clocks = Table(
    "sla_clocks",
    metadata,
    Column("number", NUMBER, ForeignKey("tickets.number"), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("first_response_due", UtcDateTime),
    Column("resolution_due", UtcDateTime),
    Column("ever_breached", Boolean, nullable=False),
    Column("next_check_at", UtcDateTime, index=True),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False, index=True),
    Column("cycle", Integer, nullable=False),
    Column("rule", String(100), nullable=False),
    Column("metric", String(32), nullable=False),
    Column("notify", String(32), nullable=False),
    Column("recipient", String(100)),
    Column("threshold_at", UtcDateTime, nullable=False),
    Column("fired_at", UtcDateTime, nullable=False),
    UniqueConstraint("number", "cycle", "rule"),  # each level fires once per cycle, whatever runs the sweep
)

ticket_vectors = Table(
    "ticket_vectors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False, unique=True),
    Column("customer_id", String(200), nullable=False),
    Column("encoder_id", String(300), nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("until", UtcDateTime, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # also the SSE event id (increasing)
    Column("type", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("number", NUMBER),
    Column("team", String(100)),
    Column("tier", String(16), nullable=False),
    Column("related", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", String(200)),
    Index(None, "type", "created_at"),
    Index(None, "team", "created_at"),
    Index(None, "number"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", String(256), nullable=False),  # needed in clear to sign; keep the database private
    Column("events", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the event id receivers de-duplicate on
    Column("webhook_id", String(32), ForeignKey("webhooks.id"), nullable=False),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON sent on every attempt
    Column("state", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("claimed_by", String(100)),
    Column("lease_until", UtcDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Index(None, "state", "next_attempt_at"),
    Index(None, "webhook_id"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False, index=True),
    Column("field", String(16), nullable=False),  # category | priority
    Column("model_version", String(100)),
    Column("predicted", String(200)),
    Column("corrected", String(200), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)

suggestion_feedback = Table(
    "suggestion_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", NUMBER, ForeignKey("tickets.number"), nullable=False, index=True),
    Column("article_id", String(200), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("applied", Boolean, nullable=False, server_default="0"),  # counted in the knowledge base yet?
    UniqueConstraint("number", "article_id", "actor"),  # one vote per person, suggestion and ticket
)

periodic_runs = Table(
    "periodic_runs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_run_at", UtcDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),  # stored lower-case
    Column("password_hash", String(255), nullable=False),  # Argon2id, in the PHC string format
    Column("role", String(16), nullable=False),
    Column("teams", JSON, nullable=False),
    Column("agent_id", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie's random token
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("last_seen_at", UtcDateTime, nullable=False),
)
