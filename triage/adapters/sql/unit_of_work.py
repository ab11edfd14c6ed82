"""The SQL unit of work: one connection, one transaction, every store bound to it."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from triage.adapters.sql.analytics import SqlAnalytics
from triage.adapters.sql.stores import (
    SqlAgents,
    SqlAlerts,
    SqlAttachments,
    SqlAudit,
    SqlFeedback,
    SqlIdempotency,
    SqlJobs,
    SqlKeys,
    SqlLeases,
    SqlMessages,
    SqlPeriodic,
    SqlSessions,
    SqlSla,
    SqlTickets,
    SqlUsers,
    SqlVectors,
    SqlWebhooks,
)
from triage.ports import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    """``with SqlUnitOfWork(engine) as uow: ...; uow.commit()``.

    Args:
        engine: From :func:`triage.adapters.sql.engine.make_engine`.
        read_only: A reading transaction; on SQLite it does not take the write lock.
    """

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self.connection: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        connection = self.engine.connect()
        connection.info["read_only"] = self.read_only
        connection.begin()
        self.connection = connection
        agents = SqlAgents(connection)
        self.tickets = SqlTickets(connection)
        self.idempotency = SqlIdempotency(connection)
        self.jobs = SqlJobs(connection)
        self.sla = SqlSla(connection)
        self.messages = SqlMessages(connection)
        self.attachments = SqlAttachments(connection)
        self.audit = SqlAudit(connection)
        self.keys = SqlKeys(connection)
        self.agents = agents
        self.presence = agents
        self.vectors = SqlVectors(connection)
        self.leases = SqlLeases(connection)
        self.alerts = SqlAlerts(connection)
        self.webhooks = SqlWebhooks(connection)
        self.feedback = SqlFeedback(connection)
        self.periodic = SqlPeriodic(connection)
        self.analytics = SqlAnalytics(connection)
        self.users = SqlUsers(connection)
        self.sessions = SqlSessions(connection)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.rollback()
        finally:
            if self.connection is not None:
                self.connection.info.pop("read_only", None)
                self.connection.close()
                self.connection = None

    def commit(self) -> None:
        assert self.connection is not None, "commit() outside `with uow:`"
        self.connection.commit()

    def rollback(self) -> None:
        if self.connection is not None and self.connection.in_transaction():
            self.connection.rollback()
