"""Triage a ticket and route it: the category, urgency and anger from the pipeline decide who gets it.

The decision is the same in every setting: an abstained category goes to the triage queue with its reason,
anything else to the router. The router is the in-process :class:`RoutingBoard` (the simulator, the demo) or the
database-backed one of the service (:func:`triage.services.dispatch.route`).
"""

from __future__ import annotations

from collections.abc import Callable
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
    ticket.urgency_score = result.urgency.score
    ticket.anger = result.sentiment.anger


def abstained_assignment(ticket: Ticket, result: TriageResult, *, triage_queue: str) -> Assignment:
    """The triage queue, with the reason the model abstained and its best guess."""
    category = result.category
    return Assignment(
        ticket_id=ticket.id,
        team=triage_queue,
        agent_id=None,
        reasons=(
            f"category abstained ({category.abstain_reason}): best guess {category.label} at {category.confidence:.2f}",
            f"queued for team {triage_queue} (triage queue)",
        ),
    )


def route_triaged(
    ticket: Ticket, result: TriageResult, *, triage_queue: str, route: Callable[[Ticket], Assignment]
) -> Assignment:
    """Apply ``result`` to ``ticket`` and route it: abstained → the triage queue, else ``route(ticket)``."""
    apply_triage(ticket, result)
    if result.category.abstained:
        return abstained_assignment(ticket, result, triage_queue=triage_queue)
    return route(ticket)


def triage_and_route(
    tickets: list[Ticket], *, pipeline: TriagePipeline, board: RoutingBoard, now: datetime
) -> list[tuple[TriageResult, Assignment]]:
    """Triage several tickets in one pipeline batch, then route each one on the in-process board."""
    results = pipeline.batch([t.text for t in tickets], tickets)
    queue = board.policy.taxonomy.triage_queue

    def route(ticket: Ticket) -> Assignment:
        return board.route(ticket, now=now)

    return [
        (result, route_triaged(t, result, triage_queue=queue, route=route))
        for t, result in zip(tickets, results, strict=True)
    ]
