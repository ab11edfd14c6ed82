"""What was tried to lift ChnSentiCorp past the 0.943 bar without a Chinese pretrained transformer, reproducibly.

``python -m training.chnsenticorp_study [--no-cnn] [--only NAME ...]`` (about 30 minutes on 2 shared cores; 8
without the CNNs; ``--only char_cnn``: the head's views and that row) prints one table. Every candidate is a *view*: 5-fold out-of-fold log-probabilities on ChnSentiCorp train, and a
fit on all of train scored on validation and test. Each row gives the view alone, then the sentiment head's pool
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
* ``cnn``: the character CNN of :mod:`models.char_cnn`, randomly initialised;
* ``cnn_vectors``: the same network started from character embeddings we train here (PPMI + SVD over the
  online_shopping reviews without near-duplicates of test texts, plus ChnSentiCorp train and validation text);
* ``char_cnn``: the product's ``char_cnn`` view: the shipped reader (those embeddings, then trained on
  online_shopping sentiment with every ChnSentiCorp text removed; ``training/char_cnn_reader.py``), fine-tuned.

``--only regularisation`` is not a candidate view but the choice of the n-gram views' inverse regularisation (``char_C``
and ``word_C`` of ``training/configs/sentiment.toml``, one value for the char, word and jieba views): each value of
:data:`C_GRID`, with the head's other views and ``char_cnn``, pooled, is scored on the 10,800 rows that are not test
(train out of fold, then validation) by accuracy and log-loss; the lowest log-loss is the config's value.

Rows are read from ../shared/data at run time and never written anywhere.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import log_softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from models.char_cnn import CharCNNClassifier, extend_vocabulary, log_probabilities, train_network
from models.encoder import load_encoder
from models.estimators import HybridTextClassifier, fit_view_weights
from models.features import TextFeatures
from training import corpora
from training.char_cnn_reader import character_embeddings
from triage.config import configure_offline_environment

SPLITS = ("validation", "test")
#: online_shopping categories of ChnSentiCorp's domains (hotels, books, computers).
IN_DOMAIN = ("酒店", "书籍", "计算机")
FOLDS = 5
#: Inverse regularisation tried for the char, word and jieba views together (``--only regularisation``).
C_GRID = (3.0, 10.0, 30.0, 100.0, 300.0)
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


def head_view(view: str, *, extra: pd.DataFrame | None = None, **params: Any) -> Fitter:
    """One view of the sentiment head (its own defaults, or ``params``), optionally with ``extra`` labelled rows
    added to training."""

    def fit(texts, y, embeddings, targets):  # noqa: ANN001, ANN202
        if extra is not None:
            texts, y = texts + extra["text"].tolist(), np.concatenate([y, extra["label"].to_numpy()])
            embeddings = np.zeros((len(texts), 0), dtype=np.float32)
        head = HybridTextClassifier(views=[view], calibration_folds=2, n_jobs=2, **params)
        head.fit(TextFeatures(texts, embeddings), y.astype(str))
        return [log_softmax(head.decision_logits(TextFeatures(t, e)), axis=1) for t, e in targets]

    return fit


def fixed_view(view: str, rows: pd.DataFrame) -> Fitter:
    """A head view trained once on other labelled ``rows``; the ChnSentiCorp training rows are only scored."""
    head = HybridTextClassifier(views=[view], calibration_folds=2, n_jobs=2)
    head.fit(TextFeatures(rows["text"].tolist(), np.zeros((len(rows), 0))), rows["label"].astype(str).tolist())
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


def cnn_view(**params: Any) -> Fitter:
    """The ``char_cnn`` view (:class:`models.char_cnn.CharCNNClassifier`) with ``params``."""

    def fit(texts, y, embeddings, targets):  # noqa: ANN001, ANN202
        view = CharCNNClassifier(**params).fit(texts, y.astype(str))
        return [view.predict_log_proba(t) for t, _ in targets]

    return fit


def cnn_from_vectors(vectors: dict[str, np.ndarray]) -> Fitter:
    """The same network started from character ``vectors`` alone (no supervised reader), 5 epochs."""

    def fit(texts, y, embeddings, targets):  # noqa: ANN001, ANN202
        vocabulary = extend_vocabulary(texts)
        weights = train_network(texts, y, vocabulary=vocabulary, n_classes=2, embedding_init=vectors, epochs=5,
                                learning_rate=2e-3)  # fmt: skip
        return [log_probabilities(weights, vocabulary, t, 256) for t, _ in targets]

    return fit


def accuracy(logs: np.ndarray, y: np.ndarray) -> float:
    return float((logs.argmax(axis=1) == y).mean())


def _pools(views: dict[str, ViewLogs], labels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The views pooled as the head pools them (weights fitted out of fold), on every split, as log-probabilities."""
    weights = fit_view_weights({name: v["oof"] for name, v in views.items()}, labels["train"])
    return {s: log_softmax(sum(w * views[n][s] for n, w in weights.items()), axis=1) for s in ("oof", *SPLITS)}


def pooled(views: dict[str, ViewLogs], labels: dict[str, np.ndarray]) -> dict[str, float]:
    """Accuracy of the pooled views on validation and test."""
    pool = _pools(views, labels)
    return {s: accuracy(pool[s], labels[s]) for s in SPLITS}


def selection_scores(views: dict[str, ViewLogs], labels: dict[str, np.ndarray]) -> dict[str, float]:
    """Accuracy and mean log-loss of the pooled views on every row that is not test: train out of fold, then
    validation. What a setting is chosen on (test stays unseen)."""
    pool = _pools(views, labels)
    logs = np.concatenate([pool["oof"], pool["validation"]])
    truth = np.concatenate([labels["train"], labels["validation"]])
    return {"accuracy": accuracy(logs, truth), "log_loss": float(-logs[np.arange(len(truth)), truth].mean())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.chnsenticorp_study", description=__doc__.split("\n")[0])
    parser.add_argument("--no-cnn", action="store_true", help="skip the three character CNNs (about 20 minutes)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these candidates only (knn, mlp_use, "
                        "transfer_char, in_domain_rows, cnn, cnn_vectors, char_cnn, regularisation) beside the "
                        "head's views")
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

    shipped_cnn = functools.cache(lambda: measure(cnn_view()))  # for its row and the regularisation grid
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
            f"transfer_{view}": measure(fixed_view(view, corpora.online_shopping_reviews(data, every_text)))
            for view in ("char", "jieba")
        },
        "in_domain_rows": lambda: {
            view: measure(head_view(view, extra=corpora.online_shopping_reviews(data, every_text, IN_DOMAIN)))
            for view in ("char", "word", "jieba")
        },
    }
    if not args.no_cnn:

        def cnn_vectors() -> dict[str, ViewLogs]:
            reviews = corpora.online_shopping_reviews(data, frames["test"]["text"])["text"].tolist()
            vectors = character_embeddings(reviews + texts["train"] + texts["validation"])
            return {"cnn_vectors": measure(cnn_from_vectors(vectors))}

        candidates["cnn"] = lambda: {"cnn": measure(cnn_view(use_reader=False, epochs=5, learning_rate=2e-3))}
        candidates["cnn_vectors"] = cnn_vectors
        candidates["char_cnn (the shipped reader, fine-tuned)"] = lambda: {"char_cnn": shipped_cnn()}
    for name, run in candidates.items():
        if args.only and name.split()[0] not in args.only:
            continue
        started = time.perf_counter()
        added = run()
        alone = {s: accuracy(next(iter(added.values()))[s], labels[s]) for s in SPLITS} if len(added) == 1 else None
        together = pooled({**head, **added}, labels)
        solo = f"{alone['validation']:.4f} | {alone['test']:.4f}" if alone else "- | -"
        print(f"| {name} | {solo} | {together['validation']:.4f} | {together['test']:.4f} | "
              f"{time.perf_counter() - started:.0f} |", flush=True)  # fmt: skip
    if args.only and "regularisation" in args.only:
        regularisation_grid({**head, "char_cnn": shipped_cnn()}, measure, labels)
    return 0


def regularisation_grid(views: dict[str, ViewLogs], measure: Callable[[Fitter], ViewLogs],
                        labels: dict[str, np.ndarray]) -> None:  # fmt: skip
    """Print, for each value of :data:`C_GRID`, the trained sentiment head's ``views`` pooled with its n-gram views
    refitted at that inverse regularisation: chosen on the rows that are not test, with test beside them."""
    print("\n| n-gram views' C | not test (train out of fold + validation): accuracy | log-loss | validation | test |")
    print("|---|---|---|---|---|")
    for c in C_GRID:
        ngrams = {"char": measure(head_view("char", char_C=c)),
                  **{view: measure(head_view(view, word_C=c)) for view in ("word", "jieba")}}  # fmt: skip
        chosen, together = selection_scores({**views, **ngrams}, labels), pooled({**views, **ngrams}, labels)
        print(f"| {c:g} | {chosen['accuracy']:.4f} | {chosen['log_loss']:.4f} | {together['validation']:.4f} | "
              f"{together['test']:.4f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
