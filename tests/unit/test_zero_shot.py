"""Zero-shot categories from a taxonomy: prototypes, calibration on the examples, abstention."""

from __future__ import annotations

import numpy as np
import pytest

from models.zero_shot import PrototypeClassifier, fit_temperature
from tests.fakes import FakeEncoder
from triage.domain.taxonomy import Category, Taxonomy
from triage.engine.stages.zero_shot import ZeroShotClassifier, prototype_texts

TAXONOMY = Taxonomy.of(
    [
        Category("billing", team="billing", skill="billing", names={"en": "Billing", "zh": "账单"}),
        Category("billing/refund", names={"en": "Refund", "zh": "退款"},
                 descriptions={"en": "money back refund", "zh": "退款 退钱"},
                 examples=("refund my money please", "when is my refund", "申请退款")),
        Category("repair", team="tech", skill="network", names={"en": "Repair"}),
        Category("repair/network", names={"en": "Network"}, descriptions={"en": "vpn wifi network down"},
                 examples=("vpn keeps dropping", "wifi network is slow", "网络 连不上")),
    ]
)  # fmt: skip


def test_labels_are_the_leaves_and_prototypes_carry_parent_names_and_examples() -> None:
    classifier = ZeroShotClassifier(TAXONOMY, FakeEncoder())
    assert classifier.labels == ["billing/refund", "repair/network"]
    texts = prototype_texts(TAXONOMY, TAXONOMY.categories["billing/refund"])
    assert texts[:2] == ["Billing / Refund: money back refund", "账单 / 退款: 退款 退钱"]
    assert texts[2:] == ["refund my money please", "when is my refund", "申请退款"]


def test_a_ticket_goes_to_the_label_whose_examples_it_resembles_with_a_sorted_ranking() -> None:
    prediction = ZeroShotClassifier(TAXONOMY, FakeEncoder(), abstain_threshold=0.0)("my vpn network keeps dropping")
    assert prediction.label == "repair/network" == prediction.ranking[0].label
    assert [s.confidence for s in prediction.ranking] == sorted(
        (s.confidence for s in prediction.ranking), reverse=True
    )
    assert 0.0 <= prediction.confidence <= 1.0 and prediction.model_version.startswith("zero-shot/")


def test_unsure_and_unlike_tickets_abstain_with_their_reason() -> None:
    strict = ZeroShotClassifier(TAXONOMY, FakeEncoder(), abstain_threshold=0.999)
    assert strict("my vpn network keeps dropping").abstain_reason == "low_confidence"
    far = ZeroShotClassifier(TAXONOMY, FakeEncoder(), scope_floor=0.5)
    assert far("zebra giraffe elephant").abstain_reason == "out_of_scope"


def test_batch_equals_single_calls() -> None:
    classifier = ZeroShotClassifier(TAXONOMY, FakeEncoder())
    texts = ["refund my money", "wifi is down", "申请退款"]
    assert classifier.batch(texts) == [classifier(t) for t in texts]


def test_fitted_temperature_sharpens_reliable_scores_and_softens_noisy_ones() -> None:
    truth = np.array([0, 1] * 50)
    reliable = np.where(np.eye(2)[truth] == 1, 0.6, 0.2)
    noisy = reliable.copy()
    noisy[:20] = noisy[:20, ::-1]
    assert fit_temperature(reliable, truth) < fit_temperature(noisy, truth)


def test_every_label_needs_a_prototype() -> None:
    with pytest.raises(ValueError, match="labels without a prototype"):
        PrototypeClassifier(["a", "b"], np.eye(2)[:1], [0], temperature=0.05)
