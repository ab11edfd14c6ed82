"""The configured help desk: teams, roster, routing policy with its taxonomy, calendars, SLA matrix, escalation.

:func:`triage.adapters.policy_file.load_routing_config` builds it from the TOML files in ``config/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from triage.domain.agents import Agent, Team
from triage.domain.calendar import BusinessCalendar
from triage.domain.escalation import EscalationRule
from triage.domain.routing import RoutingPolicy
from triage.domain.sla import SlaClock, SlaPolicy, SlaTarget
from triage.domain.taxonomy import Taxonomy
from triage.domain.ticket import Ticket
from triage.kernel.errors import InvalidRequest
from triage.kernel.vocabulary import Priority, Role


@dataclass(frozen=True)
class RoutingConfig:
    """Everything routing and SLA need, validated and cross-checked."""

    teams: Mapping[str, Team]
    agents: tuple[Agent, ...]
    policy: RoutingPolicy
    calendars: Mapping[str, BusinessCalendar]
    sla: SlaPolicy
    escalation: tuple[EscalationRule, ...]
    source: Path = field(default=Path("config"))

    @property
    def taxonomy(self) -> Taxonomy:
        """The category taxonomy routing follows."""
        return self.policy.taxonomy

    def scope_teams(self, role: Role, teams: Iterable[str], agent_id: str | None, *, holder: str) -> frozenset[str]:
        """The teams an API key or console user of ``role`` acts for: the given ones, plus an agent's own team.

        Args:
            holder: What is being created (``key``, ``user``), for the error messages.

        Raises:
            InvalidRequest: an unknown team or agent, an agent without a roster id, a roster id on another role,
                a manager without teams.
        """
        team_set = frozenset(teams)
        unknown = sorted(team_set - set(self.teams))
        if unknown:
            raise InvalidRequest(f"unknown team(s) {', '.join(unknown)}; known: {', '.join(self.teams)}")
        if role is Role.AGENT:
            agent = self.agent(agent_id) if agent_id else None
            if agent is None:
                known = ", ".join(a.id for a in self.agents)
                raise InvalidRequest(f"an agent {holder} needs --agent with a roster id (got {agent_id!r}); known: {known}")
            return team_set | {agent.team}
        if agent_id is not None:
            raise InvalidRequest(f"only agent {holder}s name a roster agent; a {role.value} {holder} cannot")
        if role is Role.MANAGER and not team_set:
            raise InvalidRequest(f"a manager {holder} needs --team (the team or teams it manages)")
        return team_set

    def calendar_for(self, target: SlaTarget) -> BusinessCalendar:
        """The business calendar a target is counted on."""
        return self.calendars[target.calendar]

    def clock_for(self, ticket: Ticket, *, started_at: datetime | None = None) -> SlaClock:
        """A fresh SLA clock for ``ticket`` with its matrix target and calendar.

        Raises:
            ValueError: If neither ``started_at`` nor ``ticket.created_at`` is given.
        """
        start = started_at or ticket.created_at
        if start is None:
            raise ValueError(f"ticket {ticket.id}: need started_at or created_at to start an SLA clock")
        # A ticket triage could not rate (triage failed) is held to the P3 targets until a person sets them.
        priority = ticket.priority or Priority.P3
        target = self.sla.target_for(priority=priority, tier=ticket.tier, category=ticket.category)
        return SlaClock(ticket_id=ticket.id, target=target, calendar=self.calendar_for(target), started_at=start)

    def recipients(self, ticket: Ticket) -> dict[str, str | None]:
        """Who ``assignee``, ``team_lead`` and ``director`` are for ``ticket`` (escalation recipients)."""
        team = self.teams.get(ticket.team or "")
        return {
            "assignee": ticket.assignee,
            "team_lead": team.lead if team else None,
            "director": team.director if team else None,
        }

    def warning_share(self) -> float:
        """The share of an SLA target at which the first escalation warns (0.75 with the shipped ``sla.toml``)."""
        shares = [r.at_fraction for r in self.escalation if r.metric != "acceptance" and 0 < r.at_fraction < 1]
        return min(shares, default=0.75)

    def agent(self, agent_id: str) -> Agent | None:
        """The roster entry of ``agent_id``."""
        return next((a for a in self.agents if a.id == agent_id), None)
