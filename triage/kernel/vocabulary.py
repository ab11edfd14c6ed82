"""The one vocabulary every layer speaks: priorities, customer tiers, channels, languages, ticket statuses.

Each is a ``StrEnum``, so a value compares equal to its plain string (``Priority.P1 == "P1"``) and reads and
writes as that string in TOML, JSON and SQL, while code gets one definition with its order and helpers.
"""

from __future__ import annotations

import enum


class Priority(enum.StrEnum):
    """Urgency levels, P1 (most urgent) to P4."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """0 for P1 .. 3 for P4: sort by it to put the most urgent first."""
        return _PRIORITY_ORDER.index(self)

    @classmethod
    def ordered(cls) -> tuple[Priority, ...]:
        """Every level, most urgent first."""
        return _PRIORITY_ORDER


_PRIORITY_ORDER: tuple[Priority, ...] = tuple(Priority)


class Tier(enum.StrEnum):
    """Customer tier; VIPs get tighter SLA targets and can need a senior agent."""

    STANDARD = "standard"
    VIP = "vip"


class Channel(enum.StrEnum):
    """Where a ticket came in."""

    WEB = "web"
    EMAIL = "email"
    CHAT = "chat"
    API = "api"
    PHONE = "phone"


class Language(enum.StrEnum):
    """Languages the service detects. Agents speak the first two; ``other`` goes to a human."""

    ZH = "zh"
    EN = "en"
    OTHER = "other"


#: Languages an agent can list in the roster.
SPOKEN_LANGUAGES: tuple[Language, ...] = (Language.ZH, Language.EN)


class TicketStatus(enum.StrEnum):
    """Lifecycle of a ticket (transitions live in :mod:`triage.domain.ticket`)."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: Statuses in which a ticket still needs work.
OPEN_STATUSES: frozenset[TicketStatus] = frozenset(
    {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.PENDING_CUSTOMER}
)


class TriageState(enum.StrEnum):
    """Whether the models have looked at a ticket yet."""

    PENDING = "pending"  # persisted, waiting in the triage queue
    DONE = "done"  # triaged and routed
    FAILED = "failed"  # triage gave up after its retries; a person must look


class Role(enum.StrEnum):
    """What an API key or user may do."""

    INTAKE = "intake"  # submits tickets, reads only what it submitted
    AGENT = "agent"  # works their own and their team's tickets
    MANAGER = "manager"  # sees and manages their teams' tickets
    ADMIN = "admin"  # everything, plus keys and configuration


class MessageKind(enum.StrEnum):
    """An entry in a ticket's thread."""

    CUSTOMER = "customer"  # from the customer (the first one is the ticket's body)
    REPLY = "reply"  # an agent's public reply to the customer
    NOTE = "note"  # an internal note, never shown to the customer
    SYSTEM = "system"  # written by the service (merges, escalations)


def parse_enum(enum_type: type[enum.StrEnum], value: object, *, what: str) -> enum.StrEnum:
    """``enum_type(value)``, or a ``ValueError`` that names ``what`` and lists the allowed values."""
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValueError(f"{what} {value!r} is not one of {allowed}") from None
