"""Metric helpers shared by training, evaluation and the notebook."""

from __future__ import annotations

import numpy as np


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 15) -> float:
    """Top-label expected calibration error with equal-width bins.

    Args:
        confidence: Probability of the predicted label, per row, in [0, 1].
        correct: Whether the predicted label was right, per row.
        n_bins: Number of equal-width confidence bins.

    Returns:
        The bin-size-weighted mean of |accuracy - mean confidence|; 0.0 for no rows.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if not len(confidence):
        return 0.0
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def wilson_lower_bound(correct: np.ndarray | float, n: np.ndarray | float, *, z: float) -> np.ndarray:
    """One-sided Wilson score lower bound of a success rate: ``correct`` successes out of ``n`` trials.

    Args:
        correct: Successes (array or scalar).
        n: Trials, > 0 (array or scalar, broadcast with ``correct``).
        z: Standard-normal quantile of the confidence level (1.645 for 95% one-sided); 0 gives the rate itself.
    """
    n = np.asarray(n, dtype=float)
    rate = np.asarray(correct, dtype=float) / n
    if z <= 0:
        return rate
    centre = rate + z * z / (2 * n)
    spread = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def lowest_threshold_for_accuracy(
    confidence: np.ndarray, correct: np.ndarray, *, target: float, z: float = 0.0
) -> float:
    """The lowest confidence cut-off whose accepted rows reach ``target`` accuracy.

    Rows at or above the cut-off are accepted. With ``z > 0`` the accepted accuracy must reach the target
    with confidence: its one-sided Wilson lower bound (:func:`wilson_lower_bound`), not the observed rate,
    must be ``>= target``. That leaves a margin that shrinks as more rows are accepted, so accepted
    accuracy on new data stays at or above the target instead of landing either side of it.

    Args:
        confidence: Out-of-fold confidence of each row's predicted label.
        correct: Whether each row's predicted label was right.
        target: Accuracy the accepted rows must reach.
        z: Standard-normal quantile of the bound (1.645: 95% one-sided); 0 uses the observed rate.

    Returns:
        The cut-off; 1.0 when no cut-off reaches the target, which abstains on almost everything rather
        than promise an accuracy the model lacks.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    order = np.argsort(-confidence, kind="stable")
    accepted = np.arange(1, len(order) + 1)
    bound = wilson_lower_bound(np.cumsum(correct[order]), accepted, z=z)
    # Ties: a cut-off accepts every row of its confidence, so only the last row of a tie group is a valid cut.
    sorted_confidence = confidence[order]
    last_of_tie = np.r_[sorted_confidence[1:] != sorted_confidence[:-1], True]
    reaching = np.flatnonzero((bound >= target) & last_of_tie)
    if not len(reaching):
        return 1.0
    return float(sorted_confidence[reaching[-1]])
