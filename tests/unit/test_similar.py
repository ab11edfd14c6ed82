from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest

from models.encoder import ConcatEncoder, LanguageGatedEncoder
from tests.fakes import FakeEncoder
from triage.domain.ticket import Customer, Ticket
from triage.engine.similar import SimilarTicketFinder, embed_tickets
from triage.services.processing import SimilarityMemory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _ticket(ticket_id: str, customer: str, minutes: float = 0, status: str = "new") -> Ticket:
    return Ticket(ticket_id, customer=Customer(customer), created_at=NOW + timedelta(minutes=minutes), status=status)


def test_same_customer_asking_again_is_a_linked_repeat_contact() -> None:
    finder = SimilarTicketFinder(FakeEncoder(), similar_threshold=0.3, duplicate_threshold=0.8)
    finder.add(_ticket("T1", "alice"), "VPN drops every hour on my laptop")
    finder.add(_ticket("T2", "bob"), "refund for order 1234 not received")
    report = finder.find("VPN drops every hour on my laptop again", customer_id="alice", at=NOW + timedelta(hours=1))
    assert report.repeat_of == "T1"
    assert report.similar[0].ticket_id == "T1" and report.similar[0].duplicate
    other = finder.find("VPN drops every hour on my laptop again", customer_id="carol", at=NOW + timedelta(hours=1))
    assert other.repeat_of is None and other.similar[0].ticket_id == "T1"


def test_old_closed_tickets_are_not_recent_but_open_ones_are() -> None:
    finder = SimilarTicketFinder(FakeEncoder(), recent=timedelta(days=1), similar_threshold=0.3)
    finder.add(_ticket("OLD", "a", minutes=-5 * 24 * 60, status="resolved"), "printer jam tray two")
    finder.add(_ticket("OPEN", "b", minutes=-5 * 24 * 60), "printer jam tray two")
    hits = [h.ticket_id for h in finder.find("printer jam tray two", at=NOW).similar]
    assert hits == ["OPEN"]
    assert finder.prune(NOW) == 1 and len(finder) == 1


def test_similarities_are_sorted_and_the_ticket_itself_can_be_excluded() -> None:
    finder = SimilarTicketFinder(FakeEncoder(), similar_threshold=-1.0)
    for i, text in enumerate(["card declined", "card declined at checkout", "password reset"]):
        finder.add(_ticket(f"T{i}", f"c{i}"), text)
    report = finder.find("card declined", at=NOW, exclude="T0")
    scores = [h.similarity for h in report.similar]
    assert "T0" not in [h.ticket_id for h in report.similar] and scores == sorted(scores, reverse=True)


def test_chinese_ticket_embeddings_stay_unit_norm() -> None:
    vectors = embed_tickets(FakeEncoder(), ["花呗怎么还款", "VPN down"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_chinese_tickets_compare_on_the_encoder_that_reads_chinese_only() -> None:
    english_only = LanguageGatedEncoder(FakeEncoder(16, id="en:1"), unreadable=frozenset({"zh"}))
    bilingual = FakeEncoder(32, id="both:1")
    texts = ["花呗怎么还款", "花呗还款失败", "VPN down"]
    vectors = embed_tickets(ConcatEncoder([english_only, bilingual]), texts)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert not vectors[:2, :16].any() and vectors[2, :16].any()
    expected = bilingual.encode(texts[:2])
    assert vectors[0] @ vectors[1] == pytest.approx(float(expected[0] @ expected[1]), abs=1e-5)


def test_the_workers_similarity_memory_forgets_tickets_older_than_its_window() -> None:
    class NoNewVectors:  # the unit of work's vector store, with nothing new stored by other processes
        def since(self, *args: object, **kwargs: object) -> list[object]:
            return []

    finder = SimilarTicketFinder(FakeEncoder(), recent=timedelta(days=14), similar_threshold=0.3)
    memory = SimilarityMemory(finder, encoder_id=finder.encoder.id, window=timedelta(days=14))
    vector = embed_tickets(FakeEncoder(), ["printer jam tray two"])[0]
    memory.remember("OLD", "a", NOW - timedelta(days=15), vector)
    memory.remember("NEW", "b", NOW - timedelta(days=1), vector)
    memory.refresh(SimpleNamespace(vectors=NoNewVectors()), now=NOW)  # type: ignore[arg-type]
    assert len(finder) == 1
    report = memory.find(_ticket("T9", "c"), vector, now=NOW)
    assert [hit.ticket_id for hit in report.similar] == ["NEW"]
