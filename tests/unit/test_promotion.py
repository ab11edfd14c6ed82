from __future__ import annotations

from training.train import decide_promotion


def test_first_model_becomes_champion() -> None:
    assert decide_promotion(candidate=0.5, champion=None, metric="accuracy", force=False)[0]


def test_candidate_not_worse_than_champion_is_promoted() -> None:
    assert decide_promotion(candidate=0.9, champion=0.9, metric="accuracy", force=False)[0]


def test_worse_candidate_is_not_promoted_and_says_why() -> None:
    promoted, reason = decide_promotion(candidate=0.89, champion=0.9, metric="accuracy", force=False)
    assert not promoted and "0.8900 < champion 0.9000" in reason


def test_force_moves_the_alias_even_for_a_worse_candidate() -> None:
    assert decide_promotion(candidate=0.1, champion=0.9, metric="accuracy", force=True)[0]


def test_an_incomparable_champion_blocks_promotion_unless_forced() -> None:
    assert not decide_promotion(candidate=0.9, champion=None, metric="accuracy", force=False, blocker="x")[0]
    assert decide_promotion(candidate=0.9, champion=None, metric="accuracy", force=True, blocker="x")[0]
