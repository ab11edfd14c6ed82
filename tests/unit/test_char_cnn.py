"""The char_cnn view: numpy serving matches the torch network, and the view stays silent where it cannot help."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.char_cnn import (
    READER_DIR,
    WIDTHS,
    CharCNNClassifier,
    build_network,
    character_ids,
    load_reader,
    numpy_logits,
    train_network,
)
from models.estimators import fit_view_weights
from triage.kernel.errors import ModelNotReady

VOCABULARY = {ch: i + 2 for i, ch in enumerate("服务很好差房间干净吵慢")}


def test_numpy_serving_gives_the_torch_networks_logits() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    network = build_network(len(VOCABULARY) + 2, 3, dim=8, filters=4).eval()
    state = {name: value.detach().numpy() for name, value in network.state_dict().items()}
    weights = {"embedding": state["embedding.weight"], "out.weight": state["out.weight"], "out.bias": state["out.bias"]}
    for i, width in enumerate(WIDTHS):
        weights[f"conv{width}.weight"], weights[f"conv{width}.bias"] = state[f"convs.{i}.weight"], state[f"convs.{i}.bias"]
    texts = ["服务很好", "房间干净但是很吵很吵", "慢"]
    ids = [character_ids(text, VOCABULARY, 256) for text in texts]
    batch = torch.zeros((len(ids), max(map(len, ids))), dtype=torch.int64)  # padded, as in training
    for row, chars in enumerate(ids):
        batch[row, : len(chars)] = torch.from_numpy(chars)
    with torch.no_grad():
        expected = network(batch).numpy()
    served = np.vstack([numpy_logits(weights, chars) for chars in ids])
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)


def test_a_long_text_keeps_its_beginning_and_its_end() -> None:
    ids = character_ids("好" * 10 + "服" * 100 + "差" * 10, VOCABULARY, 20)
    assert len(ids) == 20 and ids[0] == VOCABULARY["好"] and ids[-1] == VOCABULARY["差"]
    assert character_ids("", VOCABULARY, 20).tolist() == [1]  # an empty text reads as one unknown character


def test_the_view_is_silent_on_small_or_non_chinese_data_and_gets_no_weight() -> None:
    small = CharCNNClassifier().fit(["服务很好", "服务很差"] * 10, ["positive", "negative"] * 10)
    english = CharCNNClassifier(min_rows=10).fit(["great service", "awful room"] * 10, ["positive", "negative"] * 10)
    for view in (small, english):
        assert not view.active_
        np.testing.assert_allclose(view.predict_proba(["服务很好"]), [[0.5, 0.5]])
    truth = np.array([0, 1] * 10)
    informative = np.log(np.where(np.eye(2)[truth] == 1, 0.8, 0.2))
    weights = fit_view_weights({"char": informative, "char_cnn": small.predict_log_proba(["x"] * 20)}, truth)
    assert weights["char_cnn"] == 0.0 < weights["char"]


def test_a_network_learns_separable_chinese_text_and_predicts_each_text_alone_as_in_a_batch() -> None:
    pytest.importorskip("torch")
    texts = ["服务很好房间干净", "房间很好服务干净", "服务很差房间很吵", "房间很差服务很慢"] * 30
    labels = ["positive", "positive", "negative", "negative"] * 30
    view = CharCNNClassifier(use_reader=False, epochs=20, learning_rate=1e-2, min_rows=10).fit(texts, labels)
    assert view.active_ and (view.predict(texts[:4]) == labels[:4]).all()
    batch = view.predict_log_proba(texts[:4])
    alone = np.vstack([view.predict_log_proba([text]) for text in texts[:4]])
    np.testing.assert_allclose(alone, batch)


def test_the_view_reads_chinese_texts_only_and_leaves_other_text_uniform() -> None:
    pytest.importorskip("torch")
    chinese = ["服务很好房间干净", "服务很差房间很吵"] * 30
    english = ["great service, clean room", "awful service, noisy room"] * 5
    labels = ["positive", "negative"] * 35
    view = CharCNNClassifier(use_reader=False, epochs=20, learning_rate=1e-2, min_rows=50).fit(chinese + english, labels)
    assert view.active_ and view.predict(chinese[:2]).tolist() == ["positive", "negative"]
    np.testing.assert_allclose(view.predict_proba(english[:2] + [""]), np.full((3, 2), 0.5))
    few_chinese = CharCNNClassifier(min_rows=61).fit(chinese + english, labels)  # 60 Chinese rows of 70
    assert not few_chinese.active_


def test_train_network_starts_from_a_readers_characters_and_convolutions() -> None:
    pytest.importorskip("torch")
    reader = train_network(["好", "差"], np.array([1, 0]), vocabulary={"好": 2, "差": 3}, n_classes=2, epochs=0,
                           learning_rate=1e-3, dim=8, filters=4)  # fmt: skip
    tuned = train_network(["好", "差"], np.array([1, 0]), vocabulary={"好": 2, "差": 3, "吵": 4}, n_classes=3,
                          start=reader, epochs=0, learning_rate=1e-3, dim=8, filters=4)  # fmt: skip
    np.testing.assert_array_equal(tuned["embedding"][:4], reader["embedding"])  # reader rows kept, "吵" added
    np.testing.assert_array_equal(tuned["conv3.weight"], reader["conv3.weight"])
    assert tuned["out.weight"].shape[0] == 3  # a fresh output layer for the task's classes


def test_a_damaged_reader_is_refused_with_the_rebuild_command(tmp_path: Path) -> None:
    vocabulary, weights = load_reader()
    assert len(vocabulary) > 1000 and weights["embedding"].shape[0] == len(vocabulary) + 2
    copy = tmp_path / "reader"
    shutil.copytree(READER_DIR, copy)
    with open(copy / "weights.npz", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ModelNotReady, match="training.char_cnn_reader"):
        load_reader(copy)
