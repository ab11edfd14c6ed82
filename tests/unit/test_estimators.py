"""HybridTextClassifier: the multi-view head, on small synthetic data (no encoder weights)."""

from __future__ import annotations

import numpy as np
import pytest

from models.estimators import HybridTextClassifier, fit_view_weights
from models.features import TextFeatures
from triage.kernel.errors import InvalidDataset

_WORDS = {
    "billing": ["invoice", "refund", "charged", "payment", "发票", "退款"],
    "network": ["vpn", "wifi", "router", "offline", "网络", "断线"],
    "login": ["password", "locked", "2fa", "sso", "密码", "登录"],
}


def _dataset(n_per_class: int = 30, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, words in _WORDS.items():
        for _ in range(n_per_class):
            picked = rng.choice(words, size=3)
            texts.append(f"ticket {' '.join(picked)} please help")
            labels.append(label)
    return texts, labels


def _embeddings(
    labels: list[str], blocks: tuple[int, ...], *, informative: tuple[bool, ...], seed: int = 1
) -> np.ndarray:
    """One block per encoder: an informative block carries the label, a useless one is noise."""
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    parts = []
    for width, useful in zip(blocks, informative, strict=True):
        block = rng.standard_normal((len(labels), width)).astype(np.float32)
        if useful:
            centres = rng.standard_normal((len(classes), width)).astype(np.float32) * 3
            block += centres[[classes.index(label) for label in labels]]
        parts.append(block)
    return np.hstack(parts)


def _head(**params) -> HybridTextClassifier:
    return HybridTextClassifier(n_jobs=1, max_iter=500, **params)


def test_probabilities_are_a_distribution_over_the_trained_labels() -> None:
    texts, labels = _dataset()
    embeddings = _embeddings(labels, (16,), informative=(True,))
    head = _head().fit(TextFeatures(texts, embeddings), labels)

    probabilities = head.predict_proba(TextFeatures(texts, embeddings))

    assert list(head.classes_) == ["billing", "login", "network"]
    assert probabilities.shape == (len(texts), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert set(head.predict(TextFeatures(texts, embeddings))) <= set(head.classes_)
    assert (head.predict(TextFeatures(texts, embeddings)) == np.array(labels, dtype=object)).mean() > 0.95


def test_view_weights_are_non_negative_and_a_noise_block_gets_almost_none() -> None:
    texts, labels = _dataset(40)
    embeddings = _embeddings(labels, (16, 16), informative=(True, False))
    head = _head(views=("embedding",), embedding_blocks=(16, 16)).fit(TextFeatures(texts, embeddings), labels)

    weights = head.view_weights_
    assert set(weights) == {"embedding.0-16", "embedding.16-32"}
    assert all(w >= 0 for w in weights.values())
    assert weights["embedding.16-32"] < 0.2 * weights["embedding.0-16"]


def test_a_text_gets_the_same_probabilities_alone_as_in_a_batch() -> None:
    texts, labels = _dataset()
    embeddings = _embeddings(labels, (8, 8), informative=(True, True))
    head = _head(embedding_blocks=(8, 8)).fit(TextFeatures(texts, embeddings), labels)

    batch = head.predict_proba(TextFeatures(texts[:7], embeddings[:7]))
    alone = np.vstack(
        [head.predict_proba(TextFeatures([t], e[None])) for t, e in zip(texts[:7], embeddings[:7], strict=True)]
    )

    np.testing.assert_allclose(batch, alone, rtol=1e-6, atol=1e-9)


def test_the_abstain_threshold_is_a_confidence_and_refits_only_weighted_views() -> None:
    texts, labels = _dataset()
    embeddings = _embeddings(labels, (8,), informative=(True,))
    head = _head().fit(TextFeatures(texts, embeddings), labels)

    assert 0.0 <= head.abstain_threshold_ <= 1.0
    assert set(head.views_) == {name for name, weight in head.view_weights_.items() if weight > 0}


def test_a_single_class_is_refused_clearly() -> None:
    texts, _ = _dataset(5)
    with pytest.raises(InvalidDataset, match="single class"):
        _head().fit(TextFeatures(texts, _embeddings(texts, (4,), informative=(False,))), ["billing"] * len(texts))


def test_a_label_with_one_example_is_learned_but_not_trusted() -> None:
    texts, labels = _dataset(10)
    texts.append("ticket fax machine jammed")
    labels.append("printer")
    embeddings = _embeddings(labels, (8,), informative=(True,))
    head = _head().fit(TextFeatures(texts, embeddings), labels)

    assert "printer" in head.classes_
    # every out-of-fold guess of the singleton was made by a model that never saw it
    assert not head.oof_correct_[-1]
    assert head.predict_proba(TextFeatures(texts, embeddings)).shape[1] == 4


def test_tiny_folds_that_see_one_class_still_give_out_of_fold_predictions() -> None:
    texts = ["refund please", "invoice wrong", "charged twice", "vpn down"]
    labels = ["billing", "billing", "billing", "network"]
    head = _head(views=("char", "word")).fit(TextFeatures(texts, np.zeros((4, 2), np.float32)), labels)

    assert list(head.classes_) == ["billing", "network"]
    assert head.oof_confidence_.shape == (4,)


def test_labels_that_all_have_one_example_are_refused_clearly() -> None:
    with pytest.raises(InvalidDataset, match="every label has a single example"):
        _head().fit(TextFeatures(["a b", "c d"], np.eye(2, dtype=np.float32)), ["x", "y"])


def test_embedding_blocks_that_do_not_match_the_embeddings_are_refused() -> None:
    texts, labels = _dataset(5)
    embeddings = _embeddings(labels, (8,), informative=(True,))
    with pytest.raises(ValueError, match="add up to 10"):
        _head(embedding_blocks=(4, 6)).fit(TextFeatures(texts, embeddings), labels)


def test_unknown_views_are_refused() -> None:
    texts, labels = _dataset(5)
    with pytest.raises(ValueError, match="unknown views"):
        _head(views=("pixels",)).fit(TextFeatures(texts, _embeddings(labels, (4,), informative=(True,))), labels)


def test_fit_view_weights_sharpens_a_reliable_view_and_ignores_an_anti_correlated_one() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=300)
    reliable = np.full((300, 3), np.log(0.2))
    reliable[np.arange(300), truth] = np.log(0.6)  # right every time, but under-confident
    misleading = np.full((300, 3), np.log(0.45))
    misleading[np.arange(300), truth] = np.log(0.1)  # confidently wrong every time

    weights = fit_view_weights({"reliable": reliable, "misleading": misleading}, truth)

    assert weights["misleading"] == 0.0
    assert weights["reliable"] > 1.0  # a temperature below 1 sharpens an always-right, timid view


def test_large_data_fits_only_the_folds_needed_for_calibration() -> None:
    texts, labels = _dataset(30)  # 90 rows: 18 per fold of 5
    embeddings = _embeddings(labels, (8,), informative=(True,))
    head = _head(calibration_rows=20).fit(TextFeatures(texts, embeddings), labels)

    assert 20 <= len(head.oof_rows_) < len(texts)  # two folds of five
    assert len(head.oof_confidence_) == len(head.oof_rows_)
    assert (head.predict(TextFeatures(texts, embeddings)) == np.array(labels, dtype=object)).mean() > 0.95


def _bilingual(n_per_class: int = 80) -> tuple[list[str], list[str], np.ndarray]:
    """English texts whose label only the embedding carries; Chinese texts whose label only their words carry."""
    rng = np.random.default_rng(3)
    english, labels_en, chinese, labels_zh = [], [], [], []
    for label, words in _WORDS.items():
        for i in range(n_per_class):
            english.append(f"ticket number {rng.integers(10**6)} please help {i}")
            labels_en.append(label)
            chinese.append(f"工单{''.join(rng.choice(words[4:], size=2))}请尽快处理{i}")
            labels_zh.append(label)
    embeddings = np.vstack([_embeddings(labels_en, (16,), informative=(True,)),
                            _embeddings(labels_zh, (16,), informative=(False,), seed=2)])  # fmt: skip
    return english + chinese, labels_en + labels_zh, embeddings


def test_chinese_texts_get_their_own_view_weights_when_asked() -> None:
    texts, labels, embeddings = _bilingual()
    features = TextFeatures(texts, embeddings)
    head = _head(views=("embedding", "char"), embedding_blocks=(16,), language_view_weights=True).fit(features, labels)

    assert head.chinese_view_weights_ is not None
    assert head.view_weights_["embedding.0-16"] > head.view_weights_["char"]  # English: the embedding carries it
    assert head.chinese_view_weights_["char"] > 5 * head.chinese_view_weights_["embedding.0-16"]  # Chinese: words
    half = len(texts) // 2
    assert (head.predict(features) == np.array(labels, dtype=object))[half:].mean() > 0.95
    mixed = [0, half, 1, half + 1]
    alone = np.vstack([head.predict_proba(TextFeatures([texts[i]], embeddings[[i]])) for i in mixed])
    np.testing.assert_allclose(head.predict_proba(TextFeatures([texts[i] for i in mixed], embeddings[mixed])), alone)
    one_set = _head(views=("embedding", "char"), embedding_blocks=(16,)).fit(features, labels)
    assert one_set.chinese_view_weights_ is None
    assert head.pool_weights() == {"view_weights": head.view_weights_, "chinese_view_weights": head.chinese_view_weights_}
    assert one_set.pool_weights() == {"view_weights": one_set.view_weights_}  # what the model card records
