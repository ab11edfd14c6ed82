"""The scikit-learn head behind the category, urgency and sentiment stages.

:class:`HybridTextClassifier` combines two views of a ticket:

* a logistic regression on the shared sentence embeddings (semantic view, both languages);
* a logistic regression on character n-gram TF-IDF of the raw text (lexical view; it reads Chinese
  without word segmentation and catches exact tokens such as error codes).

Their log-probabilities are averaged with fixed weights, then **temperature-scaled** on
out-of-fold predictions so confidences are calibrated, and an **abstain threshold** is chosen on
the same out-of-fold predictions as the lowest confidence whose accepted accuracy reaches a target.
Nothing depends on the batch: a text gets the same probabilities alone or in any batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from models.features import TextFeatures
from models.metrics import lowest_threshold_for_accuracy
from triage.errors import InvalidDataset

Progress = Callable[[str], None] | None


class HybridTextClassifier(ClassifierMixin, BaseEstimator):
    """Embedding + character n-gram classifier with calibrated, abstention-ready probabilities.

    Example:
        >>> head = HybridTextClassifier().fit(TextFeatures(texts, embeddings), labels)
        >>> head.predict_proba(TextFeatures(["VPN down"], encoder.encode(["VPN down"])))

    Args:
        embedding_C: Inverse regularisation of the embedding view.
        char_C: Inverse regularisation of the character n-gram view.
        char_weight: Weight of the character view in the log-probability average (0 disables it).
        char_ngram_min, char_ngram_max: Character n-gram range.
        char_max_features: Vocabulary cap of the character view.
        class_weight: ``None`` or ``"balanced"`` (for imbalanced labels such as urgency).
        calibration_folds: Folds for the out-of-fold predictions (reduced when a class is tiny).
        target_accuracy: Accepted accuracy the abstain threshold aims for.
        max_iter: Iteration cap of each logistic regression.
        random_state: Seed of the fold split.
    """

    def __init__(
        self,
        *,
        embedding_C: float = 10.0,
        char_C: float = 10.0,
        char_weight: float = 0.5,
        char_ngram_min: int = 1,
        char_ngram_max: int = 4,
        char_max_features: int = 300_000,
        class_weight: str | None = None,
        calibration_folds: int = 5,
        target_accuracy: float = 0.98,
        max_iter: int = 2000,
        random_state: int = 0,
    ) -> None:
        self.embedding_C = embedding_C
        self.char_C = char_C
        self.char_weight = char_weight
        self.char_ngram_min = char_ngram_min
        self.char_ngram_max = char_ngram_max
        self.char_max_features = char_max_features
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.target_accuracy = target_accuracy
        self.max_iter = max_iter
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def _new_embedding_model(self) -> LogisticRegression:
        return LogisticRegression(C=self.embedding_C, max_iter=self.max_iter, class_weight=self.class_weight)

    def _new_char_model(self) -> tuple[TfidfVectorizer, LogisticRegression]:
        vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(self.char_ngram_min, self.char_ngram_max),
            max_features=self.char_max_features,
            sublinear_tf=True,
            lowercase=True,
            dtype=np.float32,
        )
        model = LogisticRegression(C=self.char_C, max_iter=self.max_iter, class_weight=self.class_weight)
        return vectorizer, model

    def _fit_views(self, texts: list[str], embeddings: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        views: dict[str, Any] = {"embedding": self._new_embedding_model().fit(embeddings, y)}
        if self.char_weight > 0:
            vectorizer, model = self._new_char_model()
            views["char"] = (vectorizer, model.fit(vectorizer.fit_transform(texts), y))
        return views

    def _view_log_proba(self, views: dict[str, Any], texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        combined = (1.0 - self.char_weight) * views["embedding"].predict_log_proba(embeddings)
        if "char" in views:
            vectorizer, model = views["char"]
            combined += self.char_weight * model.predict_log_proba(vectorizer.transform(texts))
        return combined

    def _n_folds(self, y: np.ndarray) -> int:
        _, counts = np.unique(y, return_counts=True)
        return int(min(self.calibration_folds, counts.min()))

    def fit(self, X: TextFeatures, y: Sequence[str], *, progress: Progress = None) -> HybridTextClassifier:
        """Fit both views, calibrate the temperature and choose the abstain threshold.

        Raises:
            InvalidDataset: fewer than two classes, or a class with a single example.
        """
        say = progress or (lambda _message: None)
        texts, embeddings = list(X.texts), np.asarray(X.embeddings, dtype=np.float32)
        labels = np.asarray([str(label) for label in y], dtype=object)
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise InvalidDataset("training labels have a single class; a classifier needs at least two")
        folds = self._n_folds(labels)
        if folds < 2:
            rare = [c for c in self.classes_ if (labels == c).sum() < 2]
            raise InvalidDataset(f"labels {rare[:5]} have a single example; give every label at least two examples")
        out_of_fold = np.zeros((len(labels), len(self.classes_)))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        for fold, (train, held) in enumerate(splitter.split(embeddings, labels), start=1):
            say(f"calibration fold {fold}/{folds}")
            views = self._fit_views([texts[i] for i in train], embeddings[train], labels[train])
            fold_log = self._view_log_proba(views, [texts[i] for i in held], embeddings[held])
            fold_classes = list(views["embedding"].classes_)
            columns = [fold_classes.index(c) if c in fold_classes else None for c in self.classes_]
            out_of_fold[held] = np.column_stack([fold_log[:, j] if j is not None else np.full(len(held), -50.0)
                                                 for j in columns])  # fmt: skip
        truth = np.searchsorted(self.classes_, labels)
        self.temperature_ = _fit_temperature(out_of_fold, truth)
        oof_probability = np.exp(log_softmax(out_of_fold / self.temperature_, axis=1))
        self.oof_confidence_ = oof_probability.max(axis=1)
        self.oof_correct_ = oof_probability.argmax(axis=1) == truth
        self.abstain_threshold_ = lowest_threshold_for_accuracy(
            self.oof_confidence_, self.oof_correct_, target=self.target_accuracy
        )
        say("fitting the final model on all rows")
        self.views_ = self._fit_views(texts, embeddings, labels)
        self.n_features_in_ = embeddings.shape[1]
        return self

    # ------------------------------------------------------------------ prediction
    def decision_logits(self, X: TextFeatures) -> np.ndarray:
        """Temperature-scaled log-probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "views_")
        combined = self._view_log_proba(self.views_, list(X.texts), np.asarray(X.embeddings, dtype=np.float32))
        return combined / self.temperature_

    def predict_proba(self, X: TextFeatures) -> np.ndarray:
        """Calibrated probabilities; rows sum to 1, columns follow ``classes_``."""
        return np.exp(log_softmax(self.decision_logits(X), axis=1))

    def predict(self, X: TextFeatures) -> np.ndarray:
        return self.classes_[self.decision_logits(X).argmax(axis=1)]


def _fit_temperature(log_probabilities: np.ndarray, truth: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of the true labels."""

    def nll(temperature: float) -> float:
        scaled = log_softmax(log_probabilities / temperature, axis=1)
        return float(-scaled[np.arange(len(truth)), truth].mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)
