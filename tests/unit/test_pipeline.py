from __future__ import annotations

from pathlib import Path

import pytest

from kb_index.ranking import Suggestion
from models.encoder import MemoizedEncoder
from models.loading import MODEL_FILE, load_artifact_dir, save_artifact
from tests.fakes import FakeEncoder, make_artifact
from triage.domain.ticket import Customer, Ticket
from triage.engine.pipeline import TriagePipeline
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.urgency import UrgencyScorer
from triage.kernel.errors import ArtifactMismatch, InvalidTicket

CATEGORIES = {
    "repair/network": "vpn wifi network connection drops 网络 断网",
    "billing/refund": "refund money back 退款 钱",
    "billing/invoice": "invoice receipt 发票",
}
URGENCY = {"P1": "outage down all users 崩溃", "P2": "blocked cannot work", "P3": "problem issue", "P4": "question how"}
SENTIMENT = {
    "negative": "angry terrible unacceptable 太过分",
    "neutral": "please check",
    "positive": "thanks great 谢谢",
}
TEXTS = ["my vpn connection drops", "退款 什么时候 到账", "where is my invoice receipt", "thanks great service"]


class FakeSuggester:
    name = "suggest"

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail

    def __call__(self, text: str) -> tuple[Suggestion, ...]:
        return self.batch([text])[0]

    def batch(self, texts):  # noqa: ANN001
        if self.fail:
            raise RuntimeError("index offline")
        return [(Suggestion(article_id="kb-1", score=0.9, title="Fix VPN", snippet=t[:10]),) for t in texts]


def _pipeline(encoder: FakeEncoder, *, abstain_threshold: float = 0.0, scope_threshold: float = -1.0,
              suggest: FakeSuggester | None = None) -> TriagePipeline:  # fmt: skip
    shared = MemoizedEncoder(encoder)
    category = make_artifact("category", CATEGORIES, encoder, abstain_threshold=abstain_threshold,
                             scope_threshold=scope_threshold)  # fmt: skip
    return TriagePipeline(
        classify=CategoryClassifier(category, shared),
        urgency=UrgencyScorer(make_artifact("urgency", URGENCY, encoder), shared),
        sentiment=SentimentScorer(make_artifact("sentiment", SENTIMENT, encoder), shared),
        suggest=suggest,
        encoder=shared,
    )


def test_category_label_is_the_top_of_a_sorted_ranking_of_trained_labels() -> None:
    results = _pipeline(FakeEncoder()).batch(TEXTS)
    for result in results:
        ranking = result.category.ranking
        assert result.category.label == ranking[0].label
        assert all(0.0 <= s.confidence <= 1.0 for s in ranking)
        assert [s.confidence for s in ranking] == sorted((s.confidence for s in ranking), reverse=True)
        assert {s.label for s in ranking} <= set(CATEGORIES)
    assert [r.category.label for r in results[:3]] == ["repair/network", "billing/refund", "billing/invoice"]


def test_batch_returns_exactly_what_single_calls_return() -> None:
    pipeline = _pipeline(FakeEncoder(), suggest=FakeSuggester())
    tickets = [Ticket("T1", customer=Customer("C1", tier="vip")), None, None, Ticket("T4", repeat_contacts=2)]
    assert pipeline.batch(TEXTS, tickets) == [pipeline(t, m) for t, m in zip(TEXTS, tickets, strict=True)]


def test_each_text_is_encoded_once_per_batch_and_shared_by_every_stage() -> None:
    encoder = FakeEncoder()
    pipeline = _pipeline(encoder)
    encoder.calls.clear()
    pipeline.batch(TEXTS)
    encoded = [t for call in encoder.calls for t in call]
    assert sorted(encoded) == sorted(TEXTS)


def test_low_confidence_abstains_to_the_human_queue_with_the_label_kept_as_a_hint() -> None:
    result = _pipeline(FakeEncoder(), abstain_threshold=0.99)("my vpn connection drops")
    assert result.category.abstained and result.category.abstain_reason == "low_confidence"
    assert result.category.label == "repair/network"


def test_text_unlike_any_training_label_is_out_of_scope() -> None:
    result = _pipeline(FakeEncoder(), scope_threshold=0.5)("recipe for chocolate cake with strawberries")
    assert result.category.abstained and result.category.abstain_reason == "out_of_scope"


def test_every_result_records_the_model_versions() -> None:
    result = _pipeline(FakeEncoder())("my vpn connection drops")
    assert result.model_versions == {"category": "triage-category/7", "urgency": "triage-urgency/7",
                                     "sentiment": "triage-sentiment/7"}  # fmt: skip
    assert result.category.model_version == "triage-category/7"


@pytest.mark.parametrize("bad", ["", "   \n\t", "x" * 20_001])
def test_empty_or_oversized_text_is_rejected_with_a_clear_error(bad: str) -> None:
    with pytest.raises(InvalidTicket, match="ticket 0: ticket text"):
        _pipeline(FakeEncoder())(bad)


def test_failing_suggestions_degrade_the_result_instead_of_failing_it() -> None:
    result = _pipeline(FakeEncoder(), suggest=FakeSuggester(fail=True))("my vpn connection drops")
    assert result.degraded and result.suggestions == () and "suggestions unavailable" in result.warnings[0]
    healthy = _pipeline(FakeEncoder(), suggest=FakeSuggester())("my vpn connection drops")
    assert not healthy.degraded and healthy.suggestions[0].article_id == "kb-1"


def test_anger_rises_with_angry_words_and_exclamations() -> None:
    pipeline = _pipeline(FakeEncoder())
    calm = pipeline("thanks great service").sentiment.anger
    angry = pipeline("terrible!!! unacceptable, this is the third time 太过分").sentiment.anger
    assert 0.0 <= calm < angry <= 1.0


def test_a_head_trained_on_another_encoder_is_refused() -> None:
    artifact = make_artifact("category", CATEGORIES, FakeEncoder(id="fake:other@2"))
    with pytest.raises(ArtifactMismatch, match="trained on encoder fake:other@2"):
        CategoryClassifier(artifact, FakeEncoder())


def test_artifact_round_trip_gives_identical_predictions_and_tampering_is_refused(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    artifact = make_artifact("category", CATEGORIES, encoder)
    folder = save_artifact(artifact, tmp_path / "category")
    loaded = load_artifact_dir(folder)
    before = CategoryClassifier(artifact, encoder).batch(TEXTS)
    after = CategoryClassifier(loaded, encoder).batch(TEXTS)
    assert [(p.label, p.confidence) for p in before] == [(p.label, p.confidence) for p in after]
    (folder / MODEL_FILE).write_bytes(b"not the trained model")
    with pytest.raises(ArtifactMismatch, match="refusing to unpickle"):
        load_artifact_dir(folder)
