"""Recording changes in the audit trail: who, what, when, and the values before and after."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from triage.domain.access import Principal
from triage.domain.ticket import Ticket
from triage.ports import AuditEntry, UnitOfWork

#: The service itself (the worker, the scheduler) as an actor.
SYSTEM = "system"


def snapshot(ticket: Ticket, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of ``ticket`` as plain values (enums as their strings)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(ticket, name)
        out[name] = value.value if hasattr(value, "value") else value
    return out


def record(
    uow: UnitOfWork,
    *,
    actor: Principal | str,
    action: str,
    at: datetime,
    ticket: Ticket | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry. ``actor`` is a principal or :data:`SYSTEM`."""
    who = actor.label if isinstance(actor, Principal) else actor
    uow.audit.record(AuditEntry(at=at, actor=who, action=action, number=ticket.number if ticket else None,
                                before=before, after=after))  # fmt: skip
