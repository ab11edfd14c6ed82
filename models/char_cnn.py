"""The ``char_cnn`` view: a character CNN that reads Chinese reviews, trained with torch and served in numpy.

Characters are embedded, read by convolutions 1 to 5 characters wide (96 filters each), max-pooled over the text
and classified. The embeddings and convolutions start from a **reader** we pretrain once on Chinese review
sentiment (``models/pretrained/char_cnn_reader/``, rebuilt by ``python -m training.char_cnn_reader``); fitting
fine-tunes it on the task's rows (the reader's output layer is kept for a two-class task, fresh otherwise). Inference is numpy (no torch at serving) and reads
each text at its own length, so a text gets the same probabilities alone or in any batch.

The view reads **Chinese texts only** (the kernel's language detection): it trains on the Chinese rows and gives
every other text uniform probabilities, which add nothing to the head's pooled vote, so English text is left to the
views that read it. It switches itself off (uniform everywhere, so the head gives it no weight) on data it cannot
help: fewer than ``min_rows`` Chinese rows, or fewer than ``min_chinese_share`` of the texts in Chinese.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from models.digest import sha256
from triage.kernel.errors import ModelNotReady
from triage.kernel.language import detect_language

#: The shipped reader: ``weights.npz`` (``characters`` and the arrays of :func:`weight_names`) and ``meta.json``.
READER_DIR = Path(__file__).resolve().parent / "pretrained" / "char_cnn_reader"
REBUILD = "python -m training.char_cnn_reader"
WIDTHS = (1, 2, 3, 4, 5)
PAD, UNKNOWN = 0, 1


def weight_names() -> list[str]:
    """The arrays of a reader or a fitted view, besides the character list."""
    return ["embedding", *(f"conv{w}.{part}" for w in WIDTHS for part in ("weight", "bias")), "out.weight", "out.bias"]


def character_ids(text: str, vocabulary: dict[str, int], max_chars: int) -> np.ndarray:
    """Ids of ``text``'s lower-cased characters; a long text keeps its first and last ``max_chars / 2``."""
    ids = [vocabulary.get(ch, UNKNOWN) for ch in text.lower()] or [UNKNOWN]
    if len(ids) > max_chars:
        ids = ids[: max_chars // 2] + ids[-(max_chars // 2) :]
    return np.asarray(ids, dtype=np.int64)


def numpy_logits(weights: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """The network's logits for one text's character ids (the torch module's forward pass, in numpy)."""
    x = weights["embedding"][ids]
    n, dim = x.shape
    pooled = []
    for width in WIDTHS:
        kernel, pad = weights[f"conv{width}.weight"], width // 2  # (filters, dim, width)
        padded = np.vstack([np.zeros((pad, dim), x.dtype), x, np.zeros((pad, dim), x.dtype)])
        out = sum(padded[k : k + n] @ kernel[:, :, k].T for k in range(width)) + weights[f"conv{width}.bias"]
        pooled.append(np.maximum(out, 0).max(axis=0))
    return np.concatenate(pooled) @ weights["out.weight"].T + weights["out.bias"]


def extend_vocabulary(texts: Sequence[str], vocabulary: dict[str, int] | None = None) -> dict[str, int]:
    """``vocabulary`` (ids from 2; 0 pads, 1 is unknown) plus every character seen twice in ``texts`` and not in it,
    most frequent first."""
    extended = dict(vocabulary or {})
    for ch, n in Counter(ch for text in texts for ch in text.lower()).most_common():
        if n >= 2 and ch not in extended:
            extended[ch] = len(extended) + 2
    return extended


def log_probabilities(weights: dict[str, np.ndarray], vocabulary: dict[str, int], texts: Sequence[str],
                      max_chars: int) -> np.ndarray:  # fmt: skip
    """Normalised log-probabilities of each text, read alone at its own length."""
    if not len(texts):
        return np.zeros((0, len(weights["out.bias"])))
    logits = np.vstack([numpy_logits(weights, character_ids(text, vocabulary, max_chars)) for text in texts])
    logits -= logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def load_reader(folder: Path = READER_DIR) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """The pretrained reader's vocabulary and weights.

    Raises:
        ModelNotReady: the reader is missing, or its file does not match the SHA-256 its ``meta.json`` records.
    """
    path = folder / "weights.npz"
    try:
        recorded = json.loads((folder / "meta.json").read_text())["sha256"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotReady(f"char_cnn reader not found at {folder}; rebuild: {REBUILD}") from exc
    if not path.is_file() or sha256(path) != recorded:
        raise ModelNotReady(f"char_cnn reader {path} is missing or damaged (SHA-256 differs); rebuild: {REBUILD}")
    with np.load(path, allow_pickle=False) as arrays:
        characters = arrays["characters"].tolist()
        weights = {name: arrays[name] for name in weight_names()}
    return {ch: i + 2 for i, ch in enumerate(characters)}, weights


def build_network(size: int, n_classes: int, *, dim: int = 64, filters: int = 96) -> Any:
    """The torch module of the CNN (``size`` embedding rows, row :data:`PAD` zero); torch is imported here only."""
    import torch  # noqa: PLC0415 - training only; serving reads numpy arrays
    from torch import nn
    from torch.nn import functional

    class CharCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(size, dim, padding_idx=PAD)
            self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w, padding=w // 2) for w in WIDTHS)
            self.dropout, self.out = nn.Dropout(0.5), nn.Linear(filters * len(WIDTHS), n_classes)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            mask = (ids != PAD).unsqueeze(1)
            hidden = self.embedding(ids).transpose(1, 2)
            # ReLU outputs are >= 0, so zeroing padded positions leaves the max over the text's own positions
            pooled = [functional.relu(conv(hidden))[:, :, : ids.shape[1]].masked_fill(~mask, 0.0).max(2).values
                      for conv in self.convs]  # fmt: skip
            return self.out(self.dropout(torch.cat(pooled, 1)))

    return CharCNN()


def train_network(
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    vocabulary: dict[str, int],
    n_classes: int,
    start: dict[str, np.ndarray] | None = None,
    embedding_init: dict[str, np.ndarray] | None = None,
    epochs: int,
    learning_rate: float,
    max_chars: int = 256,
    batch_size: int = 64,
    dim: int = 64,
    filters: int = 96,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Train the CNN with torch on one thread and return its weights as numpy arrays.

    Args:
        start: Weights to start from (a reader): the embedding rows of its characters and the convolutions; the
            output layer is fresh unless it already has ``n_classes`` rows.
        embedding_init: Character vectors (``dim`` wide) to start the embedding from, where ``start`` has none.
    """
    import torch  # noqa: PLC0415 - training only; serving reads numpy arrays
    from torch.nn import functional

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    model = build_network(len(vocabulary) + 2, n_classes, dim=dim, filters=filters)
    with torch.no_grad():
        table = model.embedding.weight
        table[2:] *= 0.1
        for ch, row in vocabulary.items():
            if embedding_init is not None and ch in embedding_init:
                table[row] = torch.from_numpy(embedding_init[ch])
        if start is not None:  # the reader's characters keep their ids; new characters come after them
            table[: len(start["embedding"])] = torch.from_numpy(start["embedding"])
            for i, width in enumerate(WIDTHS):
                model.convs[i].weight.copy_(torch.from_numpy(start[f"conv{width}.weight"]))
                model.convs[i].bias.copy_(torch.from_numpy(start[f"conv{width}.bias"]))
            if start["out.weight"].shape[0] == n_classes:
                model.out.weight.copy_(torch.from_numpy(start["out.weight"]))
                model.out.bias.copy_(torch.from_numpy(start["out.bias"]))
    encoded = [character_ids(text, vocabulary, max_chars) for text in texts]
    ids = torch.zeros((len(encoded), max(len(e) for e in encoded)), dtype=torch.int64)
    for row, chars in enumerate(encoded):
        ids[row, : len(chars)] = torch.from_numpy(chars)
    targets = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(ids))
        for first in range(0, len(ids), batch_size):
            batch = order[first : first + batch_size]
            loss = functional.cross_entropy(model(ids[batch]), targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    state = {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}
    weights = {"embedding": state["embedding.weight"], "out.weight": state["out.weight"], "out.bias": state["out.bias"]}
    for i, width in enumerate(WIDTHS):
        weights[f"conv{width}.weight"], weights[f"conv{width}.bias"] = state[f"convs.{i}.weight"], state[f"convs.{i}.bias"]
    return weights


def is_chinese(texts: Sequence[str]) -> np.ndarray:
    """Which of ``texts`` the kernel's language detection calls Chinese."""
    return np.array([detect_language(text).language == "zh" for text in texts], dtype=bool)


class CharCNNClassifier(ClassifierMixin, BaseEstimator):
    """The ``char_cnn`` view: fine-tunes the shipped reader on raw texts (see the module docstring).

    Args:
        use_reader: Start from the shipped reader (``False``: random embeddings and convolutions).
        epochs: Passes over the training rows (5 was chosen over 2 and 3 on ChnSentiCorp validation and
            out-of-fold accuracy).
        learning_rate: Adam's step size.
        max_chars: Characters read per text (the first and last half of a longer one).
        min_rows: Fewer Chinese training rows switch the view off (a CNN needs thousands; n-grams suffice below).
        min_chinese_share: A smaller share of Chinese texts switches the view off.
        random_state: Seed of initialisation, dropout and batch order.
    """

    def __init__(self, *, use_reader: bool = True, epochs: int = 5, learning_rate: float = 1e-3,
                 max_chars: int = 256, min_rows: int = 2000, min_chinese_share: float = 0.3,
                 random_state: int = 0) -> None:  # fmt: skip
        self.use_reader = use_reader
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.max_chars = max_chars
        self.min_rows = min_rows
        self.min_chinese_share = min_chinese_share
        self.random_state = random_state

    def fit(self, texts: Sequence[str], y: Sequence[Any]) -> CharCNNClassifier:
        labels = np.asarray([str(label) for label in y], dtype=object)
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        chinese = is_chinese(texts)
        self.active_ = int(chinese.sum()) >= self.min_rows and float(chinese.mean()) >= self.min_chinese_share
        self.weights_: dict[str, np.ndarray] = {}
        self.vocabulary_: dict[str, int] = {}
        if not self.active_:
            return self
        texts = [text for text, keep in zip(texts, chinese, strict=True) if keep]
        vocabulary, start = load_reader() if self.use_reader else ({}, None)
        self.vocabulary_ = vocabulary = extend_vocabulary(texts, vocabulary)
        self.weights_ = train_network(
            texts, np.searchsorted(self.classes_, labels[chinese]), vocabulary=vocabulary,
            n_classes=len(self.classes_),
            start=start, epochs=self.epochs, learning_rate=self.learning_rate, max_chars=self.max_chars,
            seed=self.random_state,
        )  # fmt: skip
        return self

    def predict_log_proba(self, texts: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "active_")
        log_proba = np.full((len(texts), len(self.classes_)), -np.log(len(self.classes_)))
        chinese = is_chinese(texts) if self.active_ else np.zeros(len(texts), dtype=bool)
        if chinese.any():
            read = [text for text, keep in zip(texts, chinese, strict=True) if keep]
            log_proba[chinese] = log_probabilities(self.weights_, self.vocabulary_, read, self.max_chars)
        return log_proba

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.exp(self.predict_log_proba(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_log_proba(texts).argmax(axis=1)]
