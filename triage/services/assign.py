"""Triage a ticket and route it: the category, urgency and anger from the pipeline decide who gets it."""

from __future__ import annotations

from datetime import datetime

from triage.domain.routing import Assignment
from triage.domain.ticket import Ticket
from triage.engine.pipeline import TriagePipeline
from triage.engine.results import TriageResult
from triage.services.routing_board import RoutingBoard


def apply_triage(ticket: Ticket, result: TriageResult) -> None:
    """Copy what triage decided onto the ticket. An abstained category stays empty: a person must choose it."""
    ticket.language = result.language.language
    ticket.category = None if result.category.abstained else result.category.label
    ticket.priority = result.urgency.level
    ticket.anger = result.sentiment.anger


def route_triaged(ticket: Ticket, result: TriageResult, *, board: RoutingBoard, now: datetime) -> Assignment:
    """Route a triaged ticket: an abstained category goes to the triage queue with its reason, else to an agent.

    Args:
        ticket: The ticket; :func:`apply_triage` fills its triage fields.
        result: The pipeline's result for it.
        board: Routing state (roster, policy with the taxonomy, loads).
        now: The routing instant.
    """
    apply_triage(ticket, result)
    category = result.category
    if category.abstained:
        queue = board.policy.taxonomy.triage_queue
        return Assignment(
            ticket_id=ticket.id,
            team=queue,
            agent_id=None,
            reasons=(
                f"category abstained ({category.abstain_reason}): best guess {category.label} "
                f"at {category.confidence:.2f}",
                f"queued for team {queue} (triage queue)",
            ),
        )
    return board.route(ticket, now=now)


def triage_and_route(
    tickets: list[Ticket], *, pipeline: TriagePipeline, board: RoutingBoard, now: datetime
) -> list[tuple[TriageResult, Assignment]]:
    """Triage several tickets in one pipeline batch, then route each one."""
    results = pipeline.batch([t.text for t in tickets], tickets)
    return [
        (result, route_triaged(t, result, board=board, now=now)) for t, result in zip(tickets, results, strict=True)
    ]
