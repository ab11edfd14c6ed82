"""The pieces of the ChnSentiCorp study that are not a model fit: character embeddings, out-of-fold views, pooling."""

from __future__ import annotations

import numpy as np

from training.char_cnn_reader import character_embeddings
from training.chnsenticorp_study import SPLITS, pooled, selection_scores, view_logs


def test_characters_that_share_contexts_get_close_embeddings() -> None:
    # 好 and 棒 occur in the same contexts, 慢 in others: PPMI + SVD must place 好 nearer 棒 than 慢.
    texts = ["服务很好，房间很好", "服务很棒，房间很棒", "早餐很好吃", "早餐很棒吃", "物流太慢了", "上网太慢了"] * 20
    vectors = character_embeddings(texts, dim=4, window=2)
    assert set(vectors) >= {"好", "棒", "慢"}

    def cosine(a: str, b: str) -> float:
        return float(vectors[a] @ vectors[b] / np.linalg.norm(vectors[a]) / np.linalg.norm(vectors[b]))

    assert cosine("好", "棒") > cosine("好", "慢")


def test_view_logs_are_out_of_fold_on_train_and_full_fit_on_the_other_splits() -> None:
    texts = {"train": [f"t{i}" for i in range(20)], "validation": ["v"] * 3, "test": ["x"] * 4}
    y = np.array([0, 1] * 10)
    embeddings = {s: np.zeros((len(t), 1)) for s, t in texts.items()}
    fitted_on: list[int] = []

    def fit(train_texts, labels, train_embeddings, targets):  # noqa: ANN001, ANN202
        fitted_on.append(len(train_texts))
        return [np.log(np.full((len(t), 2), 0.5)) for t, _ in targets]

    logs = view_logs(fit, texts, y, embeddings)
    assert fitted_on == [16] * 5 + [20]  # five folds never see their held-out fifth; then all of train
    assert logs["oof"].shape == (20, 2) and logs["validation"].shape == (3, 2) and logs["test"].shape == (4, 2)


def test_pooling_a_view_that_knows_the_answer_beats_a_guess() -> None:
    labels = {"train": np.array([0, 1] * 50), "validation": np.array([1, 0] * 5), "test": np.array([0, 1] * 5)}

    def view(correct: bool) -> dict[str, np.ndarray]:
        def logs(y: np.ndarray) -> np.ndarray:
            p = np.where(np.eye(2)[y] == 1, 0.9, 0.1) if correct else np.full((len(y), 2), 0.5)
            return np.log(p)

        return {"oof": logs(labels["train"]), **{s: logs(labels[s]) for s in SPLITS}}

    assert pooled({"guess": view(False), "oracle": view(True)}, labels) == {"validation": 1.0, "test": 1.0}


def test_a_setting_is_chosen_on_train_out_of_fold_and_validation_rows_never_on_test() -> None:
    labels = {"train": np.array([0, 1] * 50), "validation": np.array([1, 0] * 5), "test": np.array([0, 1] * 5)}

    def logs(y: np.ndarray, p_true: float) -> np.ndarray:
        return np.log(np.where(np.eye(2)[y] == 1, p_true, 1 - p_true))

    # Right on every row but test's, where it is always wrong: the selection figures must not see test.
    view = {"oof": logs(labels["train"], 0.8), "validation": logs(labels["validation"], 0.8),
            "test": logs(labels["test"], 0.1)}  # fmt: skip
    scores = selection_scores({"view": view}, labels)
    assert scores["accuracy"] == 1.0
    assert pooled({"view": view}, labels)["test"] == 0.0
    # The log-loss is the pooled (re-scaled) one, below the raw view's -log(0.8) since the pool sharpens a view
    # that is always right, and positive.
    assert 0.0 < scores["log_loss"] < -np.log(0.8)
