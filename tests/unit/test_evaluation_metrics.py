from __future__ import annotations

import numpy as np
import pytest

from training.evaluate import Predictions, align_sentiment_labels, score_predictions


def _predictions(labels: list[str], abstained: list[bool] | None = None) -> Predictions:
    flags = abstained or [False] * len(labels)
    return Predictions(labels, np.full(len(labels), 0.9), np.asarray(flags, dtype=bool))


def test_path_labels_are_scored_at_every_level() -> None:
    gold = ["billing/refund/partial", "billing/refund/full", "billing/invoice", "repair/network"]
    pred = ["billing/refund/full", "billing/refund/full", "billing/payment", "billing/refund"]
    result = score_predictions(gold, _predictions(pred), ["t"] * 4)
    levels = result["per_level"]
    assert set(levels) == {"1", "2", "3"}
    assert levels["1"] == {"accuracy": pytest.approx(3 / 4), "n_labels": 2}
    assert levels["2"] == {"accuracy": pytest.approx(2 / 4), "n_labels": 3}
    assert levels["3"]["accuracy"] == pytest.approx(1 / 4)
    assert result["accuracy"] == pytest.approx(1 / 4)


def test_flat_labels_have_no_per_level_block() -> None:
    assert "per_level" not in score_predictions(["a", "b"], _predictions(["a", "a"]), ["t", "t"])


def test_out_of_scope_rows_do_not_count_in_the_levels() -> None:
    gold = ["hr/leave", "hr/payroll", "unknown"]
    result = score_predictions(gold, _predictions(["hr/payroll", "hr/payroll", "hr/leave"], [False, False, True]),
                               ["t"] * 3, unknown_label="unknown")  # fmt: skip
    assert result["per_level"]["1"]["accuracy"] == 1.0
    assert result["per_level"]["2"]["accuracy"] == pytest.approx(0.5)


def test_sentiment_codings_are_read_as_the_models_labels_with_a_note() -> None:
    gold, notes = align_sentiment_labels(["0", "1", "1", "负面"], ["negative", "neutral", "positive"])
    assert gold == ["negative", "positive", "positive", "negative"] and "'0' -> 'negative'" in notes[0]
    assert align_sentiment_labels(["positive", "negative"], ["negative", "positive"]) == (["positive", "negative"], [])
    assert align_sentiment_labels(["0", "maybe"], ["negative", "positive"]) == (["0", "maybe"], [])
    assert align_sentiment_labels(["0", "1"], ["0", "1"]) == (["0", "1"], [])
