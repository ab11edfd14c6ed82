from __future__ import annotations

from datetime import UTC, datetime

from triage.domain.agents import Agent
from triage.domain.routing import RoutingPolicy
from triage.domain.taxonomy import Category, Taxonomy, UnmappedLabels
from triage.domain.ticket import Customer, Ticket
from triage.engine.results import CategoryPrediction, LabelScore, SentimentScore, TriageResult, UrgencyScore
from triage.kernel.language import LanguagePrediction
from triage.kernel.vocabulary import Priority
from triage.services.assign import route_triaged
from triage.services.routing_board import RoutingBoard

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
TAXONOMY = Taxonomy.of([Category("hr", team="people", skill="hr")], unmapped_policy=UnmappedLabels.QUEUE)
AGENT = Agent(id="ana", name="Ana", team="people", skills={"hr": 3}, languages=frozenset({"en"}), capacity=5)


def _result(label: str, *, abstained: bool = False, reason: str | None = None) -> TriageResult:
    return TriageResult(
        language=LanguagePrediction("en", 1.0),
        category=CategoryPrediction(label, 0.4 if abstained else 0.95, (LabelScore(label, 0.95),), abstained, reason, "c/1"),
        urgency=UrgencyScore(level=Priority.P3, score=0.3, signals=(), model_version="u/1"),
        sentiment=SentimentScore(label="neutral", confidence=0.8, probabilities=(), anger=0.2, model_version="s/1"),
    )


def _board() -> RoutingBoard:
    return RoutingBoard(agents=[AGENT], policy=RoutingPolicy(taxonomy=TAXONOMY))


def test_a_triaged_ticket_takes_the_triage_fields_and_goes_to_the_agent_with_the_skill() -> None:
    ticket = Ticket("T1", customer=Customer("C1"))
    assignment = route_triaged(ticket, _result("hr/payroll"), board=_board(), now=NOW)
    assert assignment.agent_id == "ana" and assignment.team == "people"
    assert (ticket.category, ticket.priority, ticket.language, ticket.anger) == ("hr/payroll", Priority.P3, "en", 0.2)


def test_an_abstained_category_goes_to_the_triage_queue_with_the_reason() -> None:
    ticket = Ticket("T2")
    assignment = route_triaged(ticket, _result("hr/payroll", abstained=True, reason="low_confidence"), board=_board(), now=NOW)
    assert assignment.queued and assignment.team == "triage"
    assert "category abstained (low_confidence)" in assignment.reasons[0]
    assert ticket.category is None


def test_a_label_the_taxonomy_does_not_route_is_queued_for_triage_never_dropped() -> None:
    assignment = route_triaged(Ticket("T3"), _result("facilities/parking"), board=_board(), now=NOW)
    assert assignment.queued and assignment.team == "triage"
    assert assignment.reasons[0] == "category 'facilities/parking' is not in the taxonomy"
