"""Calibration error, the abstain-threshold search (with its confidence bound) and the out-of-scope model."""

from __future__ import annotations

import numpy as np
import pytest

from models.estimators import HybridTextClassifier
from models.metrics import expected_calibration_error, lowest_threshold_for_accuracy, wilson_lower_bound
from training.train import fit_scope


def test_calibration_error_is_zero_when_confidence_equals_accuracy_in_every_bin() -> None:
    confidence = np.array([0.95] * 20 + [0.55] * 20)
    correct = np.array([True] * 19 + [False] + [True] * 11 + [False] * 9)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_calibration_error_weights_each_bin_by_its_share_of_rows() -> None:
    confidence = np.array([0.9] * 30 + [0.3] * 10)
    correct = np.array([True] * 15 + [False] * 15 + [True] * 10)  # 0.5 vs 0.9, and 1.0 vs 0.3
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.75 * 0.4 + 0.25 * 0.7)


def test_calibration_error_of_no_rows_is_zero() -> None:
    assert expected_calibration_error(np.array([]), np.array([])) == 0.0


def test_threshold_is_the_lowest_confidence_whose_accepted_rows_reach_the_target() -> None:
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, True, False, False])
    assert lowest_threshold_for_accuracy(confidence, correct, target=0.8) == pytest.approx(0.7)
    assert lowest_threshold_for_accuracy(confidence, correct, target=1.0) == pytest.approx(0.8)


def test_threshold_is_one_when_no_cut_reaches_the_target() -> None:
    assert lowest_threshold_for_accuracy(np.array([0.9, 0.8]), np.array([False, False]), target=0.98) == 1.0


def test_a_cut_inside_a_tie_is_not_used_because_it_would_accept_the_whole_tie() -> None:
    confidence = np.array([0.9, 0.9, 0.9, 0.5])
    correct = np.array([True, False, False, True])
    assert lowest_threshold_for_accuracy(confidence, correct, target=1.0) == 1.0


def test_the_confidence_bound_leaves_a_margin_that_shrinks_with_more_rows() -> None:
    rng = np.random.default_rng(0)
    confidence = np.sort(rng.uniform(0.5, 1.0, 20_000))[::-1]
    correct = rng.uniform(size=confidence.size) < confidence  # calibrated: accuracy follows confidence
    plain = lowest_threshold_for_accuracy(confidence, correct, target=0.95)
    bounded = lowest_threshold_for_accuracy(confidence, correct, target=0.95, z=1.645)
    assert bounded > plain
    accepted = confidence >= bounded
    assert correct[accepted].mean() > 0.95
    assert wilson_lower_bound(correct[accepted].sum(), accepted.sum(), z=1.645) >= 0.95


def test_wilson_lower_bound_is_below_the_rate_and_tightens_with_n() -> None:
    small, large = wilson_lower_bound(98, 100, z=1.645), wilson_lower_bound(9800, 10_000, z=1.645)
    assert small < large < 0.98
    assert wilson_lower_bound(98, 100, z=0.0) == pytest.approx(0.98)


def test_scope_centroids_are_unit_label_means_and_the_threshold_is_the_training_quantile() -> None:
    embeddings = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    scope = fit_scope(embeddings, ["a", "a", "b", "b"], quantile=0.0)
    mean_a = np.array([0.9, 0.3]) / np.linalg.norm([0.9, 0.3])
    np.testing.assert_allclose(scope.centroids[0], mean_a, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(scope.centroids, axis=1), 1.0, rtol=1e-6)
    assert scope.threshold == pytest.approx(scope.similarity(embeddings).min())


def test_scope_flags_a_text_unlike_every_label_and_keeps_one_like_a_label() -> None:
    rng = np.random.default_rng(1)
    centres = np.repeat(np.eye(3)[:2], 20, axis=0)
    noisy = centres + 0.1 * rng.standard_normal(centres.shape)
    embeddings = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    scope = fit_scope(embeddings, ["a"] * 20 + ["b"] * 20, quantile=0.01)
    similar, unlike = scope.similarity(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32))
    assert similar >= scope.threshold > unlike


def test_data_too_noisy_for_the_bound_falls_back_to_the_observed_rate_and_says_so() -> None:
    head = HybridTextClassifier(target_accuracy=0.98)
    head.oof_confidence_ = np.linspace(1.0, 0.3, 1000)
    head.oof_correct_ = np.r_[np.arange(900) % 50 != 0, np.zeros(100, dtype=bool)]  # 98% right up to row 900
    assert head.threshold_basis(0.98) == "observed"
    assert head.abstain_threshold_for(0.98) == pytest.approx(head.oof_confidence_[899])
    assert head.threshold_basis(0.90) == "bound" and head.abstain_threshold_for(0.90) < head.abstain_threshold_for(0.98)
    assert head.threshold_basis(0.999) == "unreachable" and head.abstain_threshold_for(0.999) == 1.0
