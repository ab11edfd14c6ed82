from __future__ import annotations

import numpy as np
import pytest

from triage.domain.ticket import Customer, Ticket
from triage.engine.results import SentimentScore, UrgencyScore, UrgencySignal
from triage.engine.stages.urgency import KEYWORD_CAP, apply_context, keyword_signals, label_weights, level_for


def _score(value: float) -> UrgencyScore:
    return UrgencyScore(level=level_for(value), score=value, signals=(UrgencySignal("model", "x", value),),
                        model_version="test/1")  # fmt: skip


def _sentiment(anger: float) -> SentimentScore:
    return SentimentScore(label="negative", confidence=0.9, probabilities=(), anger=anger, model_version="s/1")


@pytest.mark.parametrize(("score", "level"), [(1.0, "P1"), (0.75, "P1"), (0.6, "P2"), (0.3, "P3"), (0.0, "P4")])
def test_score_maps_to_priority_levels(score: float, level: str) -> None:
    assert level_for(score) == level


def test_finds_english_and_chinese_keywords_and_caps_their_total() -> None:
    found = keyword_signals("URGENT: outage, site is down for all users! 系统崩溃 紧急")
    assert {s.detail for s in found} <= {
        "urgent",
        "outage",
        "down for all",
        "all users",
        "site is down",
        "系统崩溃",
        "紧急",
    }
    assert sum(s.weight for s in found) == pytest.approx(KEYWORD_CAP)
    assert keyword_signals("How do I download my invoice?") == []


def test_vip_anger_and_repeat_contacts_raise_urgency_and_are_recorded() -> None:
    base = _score(0.4)
    vip = Ticket("T1", customer=Customer("C1", tier="vip"), repeat_contacts=2)
    raised = apply_context(base, ticket=vip, sentiment=_sentiment(0.9))
    assert raised.score > base.score
    assert {s.source for s in raised.signals} == {"model", "tier", "sentiment", "repeat_contact"}
    assert raised.level == level_for(raised.score)


def test_context_never_lowers_urgency_and_score_stays_in_unit_interval() -> None:
    vip = Ticket("T1", customer=Customer("C1", tier="vip"), repeat_contacts=9)
    top = apply_context(_score(0.95), ticket=vip, sentiment=_sentiment(1.0))
    assert top.score == 1.0
    calm = apply_context(_score(0.3), ticket=Ticket("T2"), sentiment=_sentiment(0.1))
    assert calm == _score(0.3)


def test_label_weights_run_from_most_to_least_urgent() -> None:
    assert label_weights(["P3", "P1", "P4", "P2"]).tolist() == pytest.approx([1 / 3, 1.0, 0.0, 2 / 3])
    assert np.allclose(label_weights(["0", "3"], ["3", "0"]), [0.0, 1.0])
    with pytest.raises(ValueError, match="does not match"):
        label_weights(["P1", "P2"], ["P1", "P3"])
