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
        char_weight: Weight of the character view in the log-probability average (0 disables it), or
            ``"auto"``: the weight in {0, 0.1, ..., 1} with the best out-of-fold log-likelihood.
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
        char_weight: float | str = "auto",
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
        if self.char_weight == "auto" or float(self.char_weight) > 0:
            vectorizer, model = self._new_char_model()
            views["char"] = (vectorizer, model.fit(vectorizer.fit_transform(texts), y))
        return views

    @staticmethod
    def _view_log_probas(views: dict[str, Any], texts: list[str], embeddings: np.ndarray) -> dict[str, np.ndarray]:
        out = {"embedding": views["embedding"].predict_log_proba(embeddings)}
        if "char" in views:
            vectorizer, model = views["char"]
            out["char"] = model.predict_log_proba(vectorizer.transform(texts))
        return out

    @staticmethod
    def _combine(view_logs: dict[str, np.ndarray], char_weight: float) -> np.ndarray:
        combined = (1.0 - char_weight) * view_logs["embedding"]
        if "char" in view_logs:
            combined = combined + char_weight * view_logs["char"]
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
        out_of_fold: dict[str, np.ndarray] = {}
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        for fold, (train, held) in enumerate(splitter.split(embeddings, labels), start=1):
            say(f"calibration fold {fold}/{folds}")
            views = self._fit_views([texts[i] for i in train], embeddings[train], labels[train])
            fold_classes = list(views["embedding"].classes_)
            columns = [fold_classes.index(c) if c in fold_classes else None for c in self.classes_]
            for view, fold_log in self._view_log_probas(views, [texts[i] for i in held], embeddings[held]).items():
                block = out_of_fold.setdefault(view, np.zeros((len(labels), len(self.classes_))))
                block[held] = np.column_stack(
                    [fold_log[:, j] if j is not None else np.full(len(held), -50.0) for j in columns]
                )
        truth = np.searchsorted(self.classes_, labels)
        self.char_weight_ = self._choose_char_weight(out_of_fold, truth)
        combined = self._combine(out_of_fold, self.char_weight_)
        self.temperature_ = _fit_temperature(combined, truth)
        oof_probability = np.exp(log_softmax(combined / self.temperature_, axis=1))
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
        view_logs = self._view_log_probas(self.views_, list(X.texts), np.asarray(X.embeddings, dtype=np.float32))
        return self._combine(view_logs, self.char_weight_) / self.temperature_

    def predict_proba(self, X: TextFeatures) -> np.ndarray:
        """Calibrated probabilities; rows sum to 1, columns follow ``classes_``."""
        return np.exp(log_softmax(self.decision_logits(X), axis=1))

    def _choose_char_weight(self, out_of_fold: dict[str, np.ndarray], truth: np.ndarray) -> float:
        """The fixed weight, or for ``"auto"`` the grid weight with the best out-of-fold log-likelihood."""
        if "char" not in out_of_fold:
            return 0.0
        if self.char_weight != "auto":
            return float(self.char_weight)
        grid = np.round(np.linspace(0.0, 1.0, 11), 2)
        losses = [_nll(self._combine(out_of_fold, w), truth, _fit_temperature(self._combine(out_of_fold, w), truth))
                  for w in grid]  # fmt: skip
        return float(grid[int(np.argmin(losses))])

    def predict(self, X: TextFeatures) -> np.ndarray:
        return self.classes_[self.decision_logits(X).argmax(axis=1)]


def _nll(log_probabilities: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    scaled = log_softmax(log_probabilities / temperature, axis=1)
    return float(-scaled[np.arange(len(truth)), truth].mean())


def _fit_temperature(log_probabilities: np.ndarray, truth: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of the true labels."""
    result = minimize_scalar(lambda t: _nll(log_probabilities, truth, t), bounds=(0.05, 20.0), method="bounded")
    return float(result.x)
