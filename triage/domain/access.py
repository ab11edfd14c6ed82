"""Who may see and change which tickets.

One rule, used by the API, the console and the SQL queries alike: :func:`scope_of` turns a principal into the
set of tickets it may see, and :func:`can_see` applies that scope to one ticket. Outside its scope a ticket does
not exist for the caller (the API answers 404, never 403, so existence does not leak).
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.domain.ticket import Ticket
from triage.kernel.errors import PermissionDenied
from triage.kernel.vocabulary import Role


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: an API key or a console user.

    Attributes:
        id: The key's or user's id (stored as ``submitted_by`` on what it creates).
        role: What it may do.
        name: A readable name for logs and the audit trail.
        teams: Teams an agent belongs to or a manager manages.
        agent_id: The roster id of an agent (agents see the tickets assigned to them).
    """

    id: str
    role: Role
    name: str = ""
    teams: frozenset[str] = frozenset()
    agent_id: str | None = None

    @property
    def label(self) -> str:
        """How the audit trail names this principal, e.g. ``agent:wang.lei (key 3f2a…)``."""
        who = self.agent_id or self.name or self.id
        return f"{self.role.value}:{who}"


@dataclass(frozen=True)
class TicketScope:
    """The tickets a principal may see: everything, or the union of the conditions given."""

    everything: bool = False
    submitted_by: str | None = None
    teams: frozenset[str] = frozenset()
    assignee: str | None = None


def scope_of(principal: Principal) -> TicketScope:
    """The visibility rule of each role."""
    if principal.role is Role.ADMIN:
        return TicketScope(everything=True)
    if principal.role is Role.INTAKE:
        return TicketScope(submitted_by=principal.id)
    if principal.role is Role.AGENT:
        return TicketScope(teams=principal.teams, assignee=principal.agent_id)
    return TicketScope(teams=principal.teams)


def can_see(principal: Principal, ticket: Ticket) -> bool:
    """Whether ``ticket`` is inside ``principal``'s scope."""
    scope = scope_of(principal)
    return (
        scope.everything
        or (scope.submitted_by is not None and ticket.submitted_by == scope.submitted_by)
        or (ticket.team is not None and ticket.team in scope.teams)
        or (scope.assignee is not None and ticket.assignee == scope.assignee)
    )


def require_role(principal: Principal, *roles: Role, action: str) -> None:
    """Refuse an action the principal's role may not take at all.

    Raises:
        PermissionDenied: naming the action and the roles that may take it.
    """
    if principal.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise PermissionDenied(f"{principal.role.value} keys may not {action}; this needs one of: {allowed}")
