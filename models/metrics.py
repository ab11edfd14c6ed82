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


def lowest_threshold_for_accuracy(confidence: np.ndarray, correct: np.ndarray, *, target: float) -> float:
    """The lowest confidence cut-off whose accepted rows reach ``target`` accuracy.

    Rows at or above the cut-off are accepted. Returns 1.0 when no cut-off reaches the target,
    which abstains on almost everything rather than promise an accuracy the model lacks.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    reaching = np.flatnonzero(running >= target)
    if not len(reaching):
        return 1.0
    return float(confidence[order][reaching[-1]])
