"""What was tried to lift ChnSentiCorp past the 0.943 bar without a Chinese pretrained transformer, reproducibly.

``python -m training.chnsenticorp_study [--no-cnn]`` (about 14 minutes on 2 cores; 8 without the CNNs) prints one
table. Every candidate is a *view*: 5-fold out-of-fold log-probabilities on ChnSentiCorp train, and a fit on all of
train scored on validation and test. Each row gives the view alone, then the sentiment head's pool
(:func:`models.estimators.fit_view_weights` on the out-of-fold predictions, as ``triage train`` fits it) with the
view added. Candidates are chosen on validation; test is reported beside it.

* ``head``: the head's own views (USE embedding, char, word, jieba, lexicon), each refitted here as a one-view head
  (so within a few rows of the table's ``chnsenticorp`` row, which fits them together);
* ``knn``: k nearest training reviews by character 1-3-gram TF-IDF cosine (a non-linear view);
* ``mlp_use``: a one-hidden-layer network on the frozen USE embedding;
* ``transfer_char``/``transfer_jieba``: the char and jieba views trained on online_shopping_10_cats reviews with
  every exact or near-duplicate of *any* ChnSentiCorp text removed (so their train predictions are out-of-sample);
* ``in_domain_rows``: hotel, book and computer reviews of online_shopping added to the char, word and jieba views'
  training rows (the upper bound of self-training on those reviews: their true labels instead of pseudo-labels);
* ``cnn``/``cnn_pretrained``: a character CNN, randomly initialised, or initialised with character embeddings we
  train here (PPMI + SVD over online_shopping reviews without near-duplicates of test texts, plus ChnSentiCorp
  train and validation text).

Rows are read from ../shared/data at run time and never written anywhere.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sparse
from scipy.special import log_softmax
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from models.encoder import load_encoder
from models.estimators import HybridTextClassifier, fit_view_weights
from models.features import TextFeatures
from training import corpora
from triage.config import configure_offline_environment

SPLITS = ("validation", "test")
FOLDS = 5
#: A view's log-probabilities: "oof" (train rows, out of fold), "validation", "test"; columns negative, positive.
ViewLogs = dict[str, np.ndarray]
#: fit(train texts, train labels 0/1, train embeddings, [(texts, embeddings) to score]) -> log-probabilities each.
Fitter = Callable[[list[str], np.ndarray, np.ndarray, list[tuple[list[str], np.ndarray]]], list[np.ndarray]]


def view_logs(fit: Fitter, texts: dict[str, list[str]], y: np.ndarray, embeddings: dict[str, np.ndarray]) -> ViewLogs:
    """Out-of-fold log-probabilities on train and a full-train fit's on validation and test."""
    oof = np.zeros((len(y), 2))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0).split(texts["train"], y)
    for train, held in folds:
        pick = [texts["train"][i] for i in train]
        oof[held] = fit(pick, y[train], embeddings["train"][train],
                        [([texts["train"][i] for i in held], embeddings["train"][held])])[0]  # fmt: skip
    scored = fit(texts["train"], y, embeddings["train"], [(texts[s], embeddings[s]) for s in SPLITS])
    return {"oof": oof, **dict(zip(SPLITS, scored, strict=True))}


def head_view(view: str, *, extra: pd.DataFrame | None = None) -> Fitter:
    """One view of the sentiment head (its own defaults), optionally with ``extra`` labelled rows added to training."""

    def fit(texts, y, embeddings, targets):  # noqa: ANN001, ANN202
        if extra is not None:
            texts, y = texts + extra["text"].tolist(), np.concatenate([y, extra["y"].to_numpy()])
            embeddings = np.zeros((len(texts), 0), dtype=np.float32)
        head = HybridTextClassifier(views=[view], calibration_folds=2, n_jobs=2)
        head.fit(TextFeatures(texts, embeddings), y.astype(str))
        return [log_softmax(head.decision_logits(TextFeatures(t, e)), axis=1) for t, e in targets]

    return fit


def fixed_view(view: str, rows: pd.DataFrame) -> Fitter:
    """A head view trained once on other labelled ``rows``; the ChnSentiCorp training rows are only scored."""
    head = HybridTextClassifier(views=[view], calibration_folds=2, n_jobs=2)
    head.fit(TextFeatures(rows["text"].tolist(), np.zeros((len(rows), 0))), rows["y"].astype(str).tolist())
    return lambda texts, y, embeddings, targets: [
        log_softmax(head.decision_logits(TextFeatures(t, np.zeros((len(t), 0)))), axis=1) for t, _ in targets
    ]


def knn_view(texts, y, embeddings, targets):  # noqa: ANN001, ANN201
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    model = KNeighborsClassifier(n_neighbors=30, weights="distance", metric="cosine")
    model.fit(vectorizer.fit_transform(texts), y)
    return [np.log(np.clip(model.predict_proba(vectorizer.transform(t)), 1e-3, 1.0)) for t, _ in targets]


def mlp_view(texts, y, embeddings, targets):  # noqa: ANN001, ANN201
    model = MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-2, early_stopping=True, random_state=0)
    model.fit(embeddings, y)
    return [model.predict_log_proba(e) for _, e in targets]


def character_embeddings(texts: Sequence[str], *, dim: int = 64, window: int = 3) -> dict[str, np.ndarray]:
    """Character vectors from positive PMI of co-occurrence within ``window`` characters, reduced by SVD."""
    counts = Counter(ch for text in texts for ch in text.lower())
    vocabulary = {ch: i for i, (ch, n) in enumerate(counts.most_common()) if n >= 3}
    rows: list[int] = []
    cols: list[int] = []
    for text in texts:
        ids = [vocabulary[ch] for ch in text.lower() if ch in vocabulary]
        for distance in range(1, window + 1):
            rows += ids[:-distance]
            cols += ids[distance:]
    shape = (len(vocabulary), len(vocabulary))
    pairs = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=shape).tocsr()
    pairs = (pairs + pairs.T).tocoo()
    total, row_sums = pairs.sum(), np.asarray(pairs.sum(axis=1)).ravel()
    context = row_sums**0.75 / (row_sums**0.75).sum()  # context smoothing, as in word2vec
    pmi = np.log(pairs.data / total / (row_sums[pairs.row] / total) / context[pairs.col])
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (pairs.row[keep], pairs.col[keep])), shape=shape)
    vectors = TruncatedSVD(dim, random_state=0).fit_transform(ppmi)
    vectors = 0.5 * vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6, None)
    return {ch: vectors[i].astype(np.float32) for ch, i in vocabulary.items()}


def cnn_view(pretrained: dict[str, np.ndarray] | None, *, max_chars: int = 256, epochs: int = 5) -> Fitter:
    """A character CNN (widths 1-5, 96 filters each, max-pooled), optionally initialised with ``pretrained``."""
    import torch  # noqa: PLC0415 - only this study trains a network
    from torch import nn
    from torch.nn import functional

    class CharCNN(nn.Module):
        def __init__(self, size: int, dim: int = 64, filters: int = 96) -> None:
            super().__init__()
            self.embedding = nn.Embedding(size, dim, padding_idx=0)
            self.convolutions = nn.ModuleList(nn.Conv1d(dim, filters, w, padding=w // 2) for w in range(1, 6))
            self.dropout, self.out = nn.Dropout(0.5), nn.Linear(filters * 5, 2)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            mask = (ids > 0).unsqueeze(1)
            hidden = self.embedding(ids).transpose(1, 2)
            pooled = [functional.relu(conv(hidden))[:, :, : ids.shape[1]].masked_fill(~mask, -1e4).max(2).values
                      for conv in self.convolutions]  # fmt: skip
            return self.out(self.dropout(torch.cat(pooled, 1)))

    def encode(texts: list[str], vocabulary: dict[str, int]) -> torch.Tensor:
        ids = np.zeros((len(texts), max_chars), dtype=np.int64)
        for row, text in enumerate(texts):
            chars = [vocabulary.get(ch, 1) for ch in text.lower()]
            chars = chars if len(chars) <= max_chars else chars[: max_chars // 2] + chars[-max_chars // 2 :]
            ids[row, : len(chars)] = chars
        return torch.from_numpy(ids)

    def fit(texts, y, embeddings, targets):  # noqa: ANN001, ANN202
        torch.manual_seed(0)
        torch.set_num_threads(2)
        counts = Counter(ch for text in texts for ch in text.lower())
        vocabulary = {ch: i + 2 for i, (ch, n) in enumerate(counts.most_common()) if n >= 2}
        model = CharCNN(len(vocabulary) + 2)
        if pretrained:
            with torch.no_grad():
                for ch, i in vocabulary.items():
                    if ch in pretrained:
                        model.embedding.weight[i] = torch.from_numpy(pretrained[ch])
        ids, labels = encode(texts, vocabulary), torch.from_numpy(y.astype(np.int64))
        optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(ids))
            for start in range(0, len(ids), 64):
                batch = order[start : start + 64]
                loss = functional.cross_entropy(model(ids[batch]), labels[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        model.eval()
        with torch.no_grad():
            return [functional.log_softmax(model(encode(t, vocabulary)), 1).numpy() for t, _ in targets]

    return fit


def online_shopping(data: Path, without: pd.Series, categories: Sequence[str] | None = None) -> pd.DataFrame:
    """online_shopping reviews (``text``, ``y`` 1 positive) minus every exact or near-duplicate of ``without``."""
    frame = corpora.read_csv(data, "online_shopping_10_cats/data.csv")
    frame = frame[frame["review"].str.strip() != ""]
    if categories:
        frame = frame[frame["category"].isin(categories)]
    frame = frame[~corpora.near_duplicates(frame["review"], without)].drop_duplicates("review")
    return pd.DataFrame({"text": frame["review"].to_numpy(), "y": frame["label"].astype(int).to_numpy()})


def accuracy(logs: np.ndarray, y: np.ndarray) -> float:
    return float((logs.argmax(axis=1) == y).mean())


def pooled(views: dict[str, ViewLogs], labels: dict[str, np.ndarray]) -> dict[str, float]:
    weights = fit_view_weights({name: v["oof"] for name, v in views.items()}, labels["train"])
    pool = {s: sum(w * views[n][s] for n, w in weights.items()) for s in SPLITS}
    return {s: accuracy(pool[s], labels[s]) for s in SPLITS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.chnsenticorp_study", description=__doc__.split("\n")[0])
    parser.add_argument("--no-cnn", action="store_true", help="skip the two character CNNs (about 6.5 minutes)")
    args = parser.parse_args(argv)
    configure_offline_environment()
    data = corpora.shared_data_dir()
    frames = {s: corpora.chnsenticorp(data, s) for s in ("train", *SPLITS)}
    texts = {s: f["text"].tolist() for s, f in frames.items()}
    labels = {s: (f["label"] == corpora.POSITIVE).to_numpy().astype(int) for s, f in frames.items()}
    encoder = load_encoder("use")
    embeddings = {s: encoder.encode(t) for s, t in texts.items()}
    every_text = pd.concat([f["text"] for f in frames.values()])

    def measure(fit: Fitter) -> ViewLogs:
        return view_logs(fit, texts, labels["train"], embeddings)

    started = time.perf_counter()
    head = {view: measure(head_view(view)) for view in ("embedding", "char", "word", "jieba", "lexicon")}
    print("| candidate | alone: validation | alone: test | head + candidate: validation | head + candidate: test | s |")
    print("|---|---|---|---|---|---|")
    base = pooled(head, labels)
    print(f"| head views, refitted here | - | - | {base['validation']:.4f} | {base['test']:.4f} | "
          f"{time.perf_counter() - started:.0f} |")  # fmt: skip
    candidates: dict[str, Callable[[], dict[str, ViewLogs]]] = {
        "knn": lambda: {"knn": measure(knn_view)},
        "mlp_use": lambda: {"mlp_use": measure(mlp_view)},
        "transfer_char + transfer_jieba": lambda: {
            f"transfer_{view}": measure(fixed_view(view, online_shopping(data, every_text)))
            for view in ("char", "jieba")
        },
        "in_domain_rows": lambda: {
            view: measure(head_view(view, extra=online_shopping(data, every_text, ("酒店", "书籍", "计算机"))))
            for view in ("char", "word", "jieba")
        },
    }
    if not args.no_cnn:
        unlabelled = online_shopping(data, frames["test"]["text"])["text"].tolist() + texts["train"] + texts["validation"]
        candidates["cnn"] = lambda: {"cnn": measure(cnn_view(None))}
        candidates["cnn_pretrained"] = lambda: {"cnn_pretrained": measure(cnn_view(character_embeddings(unlabelled)))}
    for name, run in candidates.items():
        started = time.perf_counter()
        added = run()
        alone = {s: accuracy(next(iter(added.values()))[s], labels[s]) for s in SPLITS} if len(added) == 1 else None
        together = pooled({**head, **added}, labels)
        solo = f"{alone['validation']:.4f} | {alone['test']:.4f}" if alone else "- | -"
        print(f"| {name} | {solo} | {together['validation']:.4f} | {together['test']:.4f} | "
              f"{time.perf_counter() - started:.0f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
