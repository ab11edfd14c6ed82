"""The scikit-learn head behind the category, urgency and sentiment stages.

:class:`HybridTextClassifier` reads a ticket through several views, one logistic regression each:

* one per encoder in the shared embedding (MiniLM and USE are separate views when both are used);
* ``char``: character 1-4-gram TF-IDF of the raw text (reads Chinese without word segmentation, catches
  error codes);
* ``word``: word 1-2-gram TF-IDF (exact product names and phrases);
* ``jieba``: jieba-segmented word 1-2-grams (Chinese words; English splits on spaces);
* ``lexicon``: dense sentiment and anger cues (:mod:`models.sentiment_cues`: VADER, a Chinese polarity
  lexicon, anger words, sarcasm, shouting, punctuation runs, emoji);
* ``char_cnn`` (opt-in, not in the default views): a character CNN fine-tuned from a reader pretrained on Chinese
  reviews (:mod:`models.char_cnn`); it reads Chinese texts only and switches itself off on small or non-Chinese
  data.

A head without the embedding view reads text alone and needs no encoder.

The views' log-probabilities are pooled with non-negative weights fitted on **out-of-fold**
predictions by minimising the negative log-likelihood. That one fit both chooses how much each
view counts (a view that does not help gets weight ~0 and is not refitted) and calibrates the confidences
(the weights' overall scale is the temperature). The **abstain threshold** is the lowest out-of-fold
confidence whose accepted accuracy reaches a target with confidence (a Wilson lower bound). Nothing
depends on the batch: a text gets the same probabilities alone or in any batch.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jieba
import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import minimize
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted

from models.char_cnn import CharCNNClassifier, is_chinese
from models.features import TextFeatures
from models.metrics import lowest_threshold_for_accuracy
from models.sentiment_cues import cue_features
from triage.kernel.errors import InvalidDataset

Progress = Callable[[str], None] | None
#: Views that read the raw text (no embedding): character n-grams, regex words, jieba-segmented words
#: (Chinese words, English words alike), dense lexical sentiment cues (``models.sentiment_cues``) and the character
#: CNN (``models.char_cnn``).
TEXT_VIEWS = ("char", "word", "jieba", "lexicon", "char_cnn")
#: Every view a head may use; :data:`VIEWS` are the default ones (``char_cnn`` trains a network: opt-in).
ALL_VIEWS = ("embedding", *TEXT_VIEWS)
VIEWS = ("embedding", "char", "word", "jieba", "lexicon")
_WORD_CHARACTER = re.compile(r"\w")
jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO on first use
#: Log-probability given to a class a fold's model never saw.
_MISSING_CLASS_LOG_PROBA = -50.0
#: Upper bound of a view weight (weights also carry the temperature, so they may exceed 1).
_MAX_WEIGHT = 10.0
#: Out-of-fold rows each language needs before Chinese texts get their own view weights.
MIN_LANGUAGE_ROWS = 200


def check_views(views: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``views`` is a non-empty choice among :data:`ALL_VIEWS`."""
    unknown = sorted(set(views) - set(ALL_VIEWS))
    if unknown or not views:
        raise ValueError(f"unknown views {unknown}; choose one or more of {', '.join(ALL_VIEWS)}")


class HybridTextClassifier(ClassifierMixin, BaseEstimator):
    """Multi-view classifier with out-of-fold pooled, calibrated, abstention-ready probabilities.

    Example:
        >>> head = HybridTextClassifier(embedding_blocks=(384, 512)).fit(TextFeatures(texts, embeddings), labels)
        >>> head.predict_proba(TextFeatures(["VPN down"], encoder.encode(["VPN down"])))

    Args:
        embedding_C: Inverse regularisation of each embedding view.
        char_C: Inverse regularisation of the character n-gram view.
        word_C: Inverse regularisation of the word n-gram view.
        views: Which views to fit, among ``"embedding"``, ``"char"``, ``"word"``, ``"jieba"``, ``"lexicon"`` and
            ``"char_cnn"``.
            Without ``"embedding"`` the head reads text alone and needs no encoder.
        embedding_blocks: Widths of the encoders concatenated in the embedding (``(384, 512)`` for
            MiniLM+USE); each block is its own view, re-normalised to unit length. ``None``: one block.
        char_ngram_min, char_ngram_max: Character n-gram range.
        char_max_features: Vocabulary cap of the character view.
        word_ngram_max: Longest word n-gram (``word`` and ``jieba`` views).
        word_max_features: Vocabulary cap of the ``jieba`` view (``None``: no cap).
        lexicon_C: Inverse regularisation of the lexical-cue view.
        class_weight: ``None`` or ``"balanced"`` (for imbalanced labels such as urgency).
        calibration_folds: Folds for the out-of-fold predictions (reduced when every class is tiny).
        calibration_rows: Out-of-fold rows that suffice: on large data only the first folds that
            reach this many held-out rows are fitted (one fold of five for 50k rows), which saves
            most of the training time and changes little, since they only set the view weights
            and the abstain threshold.
        target_accuracy: Accepted accuracy the abstain threshold aims for (the documented knob, default 0.98).
        threshold_z: Confidence of that aim: the abstain threshold is the lowest confidence whose out-of-fold
            accepted accuracy has a one-sided Wilson lower bound at this normal quantile ``>= target_accuracy``
            (1.645: 95%); 0 aims at the observed out-of-fold rate, which lands either side of the target. Data
            too small or noisy for the bound falls back to the observed rate (see :meth:`threshold_basis`).
        language_view_weights: Fit a second set of view weights on the Chinese texts (the kernel's language
            detection) and pool Chinese texts with it: in a bilingual head a view's worth differs by language
            (VADER reads English only, ``char_cnn`` Chinese only). One set when either language has fewer than
            :data:`MIN_LANGUAGE_ROWS` out-of-fold rows.
        max_iter: Iteration cap of each logistic regression.
        n_jobs: Parallel fits (joblib); ``-1`` uses every core.
        random_state: Seed of the fold split.
    """

    def __init__(
        self,
        *,
        embedding_C: float = 10.0,
        char_C: float = 10.0,
        word_C: float = 10.0,
        views: Sequence[str] = VIEWS,
        embedding_blocks: Sequence[int] | None = None,
        char_ngram_min: int = 1,
        char_ngram_max: int = 4,
        char_max_features: int = 300_000,
        word_ngram_max: int = 2,
        word_max_features: int | None = None,
        lexicon_C: float = 1.0,
        class_weight: str | None = None,
        calibration_folds: int = 5,
        calibration_rows: int = 10_000,
        target_accuracy: float = 0.98,
        threshold_z: float = 1.645,
        language_view_weights: bool = False,
        max_iter: int = 2000,
        n_jobs: int | None = -1,
        random_state: int = 0,
    ) -> None:
        self.embedding_C = embedding_C
        self.char_C = char_C
        self.word_C = word_C
        self.views = views
        self.embedding_blocks = embedding_blocks
        self.char_ngram_min = char_ngram_min
        self.char_ngram_max = char_ngram_max
        self.char_max_features = char_max_features
        self.word_ngram_max = word_ngram_max
        self.word_max_features = word_max_features
        self.lexicon_C = lexicon_C
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.calibration_rows = calibration_rows
        self.target_accuracy = target_accuracy
        self.threshold_z = threshold_z
        self.language_view_weights = language_view_weights
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ views
    @property
    def uses_embeddings(self) -> bool:
        """Whether the head reads the shared embedding; a head of text views alone needs no encoder."""
        return "embedding" in self.views

    def _view_names(self, dim: int) -> list[str]:
        check_views(self.views)
        names = []
        if self.uses_embeddings:
            blocks = list(self.embedding_blocks or [dim])
            if sum(blocks) != dim:
                raise ValueError(
                    f"embedding_blocks {blocks} add up to {sum(blocks)}, but the embeddings have {dim} columns"
                )
            starts = np.cumsum([0, *blocks])
            names += [f"embedding.{a}-{b}" for a, b in zip(starts[:-1], starts[1:], strict=True)]
        return names + [view for view in TEXT_VIEWS if view in self.views]

    def _new_view(self, name: str) -> tuple[Any, LogisticRegression]:
        def regression(c: float) -> LogisticRegression:
            return LogisticRegression(C=c, max_iter=self.max_iter, class_weight=self.class_weight)

        if name == "char":
            vectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(self.char_ngram_min, self.char_ngram_max),
                max_features=self.char_max_features, sublinear_tf=True, dtype=np.float32,
            )  # fmt: skip
            return vectorizer, regression(self.char_C)
        if name == "word":
            vectorizer = TfidfVectorizer(
                analyzer="word", ngram_range=(1, self.word_ngram_max), token_pattern=r"(?u)\b\w+\b",
                sublinear_tf=True, dtype=np.float32,
            )  # fmt: skip
            return vectorizer, regression(self.word_C)
        if name == "jieba":
            vectorizer = TfidfVectorizer(
                analyzer="word", tokenizer=segment_words, token_pattern=None, lowercase=False,
                ngram_range=(1, self.word_ngram_max), max_features=self.word_max_features, sublinear_tf=True,
                dtype=np.float32,
            )  # fmt: skip
            return vectorizer, regression(self.word_C)
        if name == "lexicon":
            return make_pipeline(FunctionTransformer(cue_features), StandardScaler()), regression(self.lexicon_C)
        if name == "char_cnn":
            return None, CharCNNClassifier(random_state=self.random_state)
        return None, regression(self.embedding_C)

    @staticmethod
    def _inputs(name: str, texts: list[str], embeddings: np.ndarray) -> Any:
        if name in TEXT_VIEWS:
            return texts
        start, stop = (int(x) for x in name.removeprefix("embedding.").split("-"))
        block = embeddings[:, start:stop]
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        return block / np.where(norms == 0, 1.0, norms)

    def _fit_view(self, name: str, texts: list[str], embeddings: np.ndarray, y: np.ndarray) -> tuple:
        vectorizer, model = self._new_view(name)
        inputs = self._inputs(name, texts, embeddings)
        if vectorizer is not None:
            inputs = vectorizer.fit_transform(inputs)
        return vectorizer, model.fit(inputs, y)

    def _view_log_proba(self, name: str, fitted: tuple, texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        vectorizer, model = fitted
        inputs = self._inputs(name, texts, embeddings)
        if vectorizer is not None:
            inputs = vectorizer.transform(inputs)
        return model.predict_log_proba(inputs)

    def _fit_and_predict(self, name: str, texts: list[str], embeddings: np.ndarray, y: np.ndarray,
                         train: np.ndarray, held: np.ndarray) -> np.ndarray:  # fmt: skip
        """Fit one view on ``train`` rows, return its log-probabilities for ``held`` rows in ``classes_`` order."""
        seen = sorted(set(y[train].tolist()))
        if len(seen) < 2:  # a fold of tiny data saw one class: it can only predict that class
            fold_log = np.zeros((len(held), 1))
        else:
            fitted = self._fit_view(name, [texts[i] for i in train], embeddings[train], y[train])
            fold_log = self._view_log_proba(name, fitted, [texts[i] for i in held], embeddings[held])
            seen = list(fitted[1].classes_)
        columns = [fold_log[:, seen.index(c)] if c in seen else np.full(len(held), _MISSING_CLASS_LOG_PROBA)
                   for c in self.classes_]  # fmt: skip
        return np.column_stack(columns)

    # ------------------------------------------------------------------ fitting
    def _n_folds(self, y: np.ndarray) -> int:
        """As many folds as asked, if some class can fill them; rarer classes miss some folds."""
        _, counts = np.unique(y, return_counts=True)
        return int(min(self.calibration_folds, counts.max()))

    def fit(self, X: TextFeatures, y: Sequence[str], *, progress: Progress = None) -> HybridTextClassifier:
        """Fit every view, pool them on out-of-fold predictions and choose the abstain threshold.

        A label with very few examples is still learned; in the folds that hold all of its examples
        out it counts as an out-of-fold error, which makes the pooled confidences conservative.

        Raises:
            InvalidDataset: fewer than two classes, or no class with two examples.
        """
        say = progress or (lambda _message: None)
        texts, embeddings = list(X.texts), np.asarray(X.embeddings, dtype=np.float32)
        labels = np.asarray([str(label) for label in y], dtype=object)
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise InvalidDataset("training labels have a single class; a classifier needs at least two")
        folds = self._n_folds(labels)
        if folds < 2:
            raise InvalidDataset("every label has a single example; give some label at least two examples")
        names = self._view_names(embeddings.shape[1])
        with warnings.catch_warnings():  # "least populated class has fewer members than n_splits": handled
            warnings.simplefilter("ignore", UserWarning)
            folding = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            splits = list(folding.split(texts, labels))
        # Large data: enough folds for calibration_rows held-out rows; the weights are only a few numbers.
        splits = splits[: max(1, min(folds, math.ceil(self.calibration_rows * folds / len(labels))))]
        say(f"out-of-fold predictions: {len(names)} views x {len(splits)} of {folds} folds")
        parallel = Parallel(n_jobs=self.n_jobs)
        fold_logs = parallel(
            delayed(self._fit_and_predict)(name, texts, embeddings, labels, train, held)
            for train, held in splits for name in names
        )  # fmt: skip
        self.oof_rows_ = np.sort(np.concatenate([held for _, held in splits]))
        out_of_fold = {name: np.zeros((len(self.oof_rows_), len(self.classes_))) for name in names}
        for (index, name), fold_log in zip(((i, n) for i in range(len(splits)) for n in names), fold_logs, strict=True):
            out_of_fold[name][np.searchsorted(self.oof_rows_, splits[index][1])] = fold_log
        truth = np.searchsorted(self.classes_, labels[self.oof_rows_])
        oof_texts = [texts[row] for row in self.oof_rows_]
        chinese = is_chinese(oof_texts) if self.language_view_weights else np.zeros(len(oof_texts), dtype=bool)
        self.chinese_view_weights_: dict[str, float] | None = None
        if min(chinese.sum(), (~chinese).sum()) >= MIN_LANGUAGE_ROWS:
            self.view_weights_ = fit_view_weights(_rows(out_of_fold, ~chinese), truth[~chinese])
            self.chinese_view_weights_ = fit_view_weights(_rows(out_of_fold, chinese), truth[chinese])
        else:
            self.view_weights_ = fit_view_weights(out_of_fold, truth)
        oof_probability = np.exp(log_softmax(self._pooled_logs(out_of_fold, oof_texts), axis=1))
        self.oof_confidence_ = oof_probability.max(axis=1)
        self.oof_correct_ = oof_probability.argmax(axis=1) == truth
        self.abstain_threshold_ = self.abstain_threshold_for(self.target_accuracy)
        chinese_weights = self.chinese_view_weights_ or {}
        used = [name for name in names if self.view_weights_[name] > 0 or chinese_weights.get(name, 0.0) > 0]
        say(f"fitting {len(used)} views on all rows (weights {self.view_weights_}"
            + (f"; Chinese texts {chinese_weights})" if chinese_weights else ")"))
        fitted = parallel(delayed(self._fit_view)(name, texts, embeddings, labels) for name in used)
        self.views_ = dict(zip(used, fitted, strict=True))
        self.n_features_in_ = embeddings.shape[1]
        return self

    def pool_weights(self) -> dict[str, dict[str, float]]:
        """The fitted view weights for a model card: ``view_weights``, and ``chinese_view_weights`` if fitted."""
        check_is_fitted(self, "view_weights_")
        chinese = getattr(self, "chinese_view_weights_", None)
        return {"view_weights": self.view_weights_, **({"chinese_view_weights": chinese} if chinese else {})}

    def abstain_threshold_for(self, target_accuracy: float) -> float:
        """The abstain threshold for another target accepted accuracy, from the stored out-of-fold predictions.

        Lets a deployment pick its operating point (e.g. 0.95 for more coverage) without retraining. When no
        cut-off reaches the target with confidence (small or noisy data), the cut-off at the observed
        out-of-fold rate is used instead (:meth:`threshold_basis` says which); when none reaches it at all, 1.0.
        """
        return self._threshold(target_accuracy)[0]

    def threshold_basis(self, target_accuracy: float) -> str:
        """How the threshold for ``target_accuracy`` was set: ``"bound"`` (with confidence), ``"observed"``
        (at the observed out-of-fold rate: too few or too noisy rows for the bound) or ``"unreachable"``."""
        return self._threshold(target_accuracy)[1]

    def _threshold(self, target_accuracy: float) -> tuple[float, str]:
        check_is_fitted(self, "oof_confidence_")
        confidence, correct = self.oof_confidence_, self.oof_correct_
        bounded = lowest_threshold_for_accuracy(confidence, correct, target=target_accuracy, z=self.threshold_z)
        if bounded < 1.0 or self.threshold_z <= 0:
            return bounded, "bound" if bounded < 1.0 else "unreachable"
        observed = lowest_threshold_for_accuracy(confidence, correct, target=target_accuracy)
        return observed, "observed" if observed < 1.0 else "unreachable"

    # ------------------------------------------------------------------ prediction
    def decision_logits(self, X: TextFeatures) -> np.ndarray:
        """Pooled, calibrated log-probabilities (unnormalised), columns in ``classes_`` order."""
        check_is_fitted(self, "views_")
        texts, embeddings = list(X.texts), np.asarray(X.embeddings, dtype=np.float32)
        view_logs = {
            name: self._view_log_proba(name, fitted, texts, embeddings) for name, fitted in self.views_.items()
        }
        return self._pooled_logs(view_logs, texts)

    def _pooled_logs(self, view_logs: dict[str, np.ndarray], texts: list[str]) -> np.ndarray:
        """The views' log-probabilities pooled with the fitted weights (Chinese texts with their own, if fitted)."""
        pooled = _pool(view_logs, self.view_weights_)
        chinese_weights = getattr(self, "chinese_view_weights_", None)  # heads pickled before it existed: None
        if chinese_weights:
            chinese = is_chinese(texts)
            if chinese.any():
                pooled = np.where(chinese[:, None], _pool(view_logs, chinese_weights), pooled)
        return pooled

    def predict_proba(self, X: TextFeatures) -> np.ndarray:
        """Calibrated probabilities; rows sum to 1, columns follow ``classes_``."""
        return np.exp(log_softmax(self.decision_logits(X), axis=1))

    def predict(self, X: TextFeatures) -> np.ndarray:
        return self.classes_[self.decision_logits(X).argmax(axis=1)]


def segment_words(text: str) -> list[str]:
    """Lower-cased words of ``text``: jieba segments Chinese into words and splits English on spaces."""
    return [token for token in jieba.lcut(text.lower()) if _WORD_CHARACTER.search(token)]


def _rows(view_logs: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {name: logs[mask] for name, logs in view_logs.items()}


def _pool(view_logs: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    return sum(weights[name] * logs for name, logs in view_logs.items() if weights.get(name, 0.0) > 0)


def fit_view_weights(view_logs: dict[str, np.ndarray], truth: np.ndarray) -> dict[str, float]:
    """Non-negative weights minimising the negative log-likelihood of ``sum_v w_v * log p_v``.

    Args:
        view_logs: Out-of-fold log-probabilities per view, each ``(n, classes)``.
        truth: Column index of the true class of each row.
    """
    names = list(view_logs)
    stack = np.stack([view_logs[name] for name in names])  # views x rows x classes
    true_logs = stack[:, np.arange(len(truth)), truth]  # views x rows

    def loss_and_gradient(weights: np.ndarray) -> tuple[float, np.ndarray]:
        pooled = log_softmax(np.tensordot(weights, stack, axes=1), axis=1)
        probability = np.exp(pooled)
        loss = -pooled[np.arange(len(truth)), truth].mean()
        expected = np.einsum("rc,vrc->vr", probability, stack)
        return float(loss), (expected - true_logs).mean(axis=1)

    start = np.full(len(names), 1.0 / len(names))
    # A view whose log-probabilities are equal across classes on every row (a view that switched itself off) says
    # nothing: its weight is 0, not wherever the search started.
    silent = np.ptp(stack, axis=2).max(axis=1) == 0
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", bounds=[(0.0, _MAX_WEIGHT)] * len(names))
    weights = np.where((result.x < 1e-4) | silent, 0.0, result.x)
    if not weights.any():  # degenerate data: fall back to an equal pool
        weights = start
    return {name: round(float(w), 6) for name, w in zip(names, weights, strict=True)}
