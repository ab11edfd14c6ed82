"""Category stage: calibrated semantic classification with an abstain path to a human queue."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.encoder import SentenceEncoder
from models.loading import ModelArtifact
from triage.engine.results import CategoryPrediction, LabelScore
from triage.engine.stages.base import HeadStage


class CategoryClassifier(HeadStage[CategoryPrediction]):
    """Predicts a ticket's category from its text; abstains when unsure or out of scope.

    The predicted label is always one of the trained labels: the ranking is built from the model's
    own ``classes_``, never from free text.

    Example:
        >>> classifier = CategoryClassifier(artifact, encoder)
        >>> classifier("VPN drops every 5 minutes").label
        'repair/network'
    """

    name = "category"

    def __init__(
        self,
        artifact: ModelArtifact,
        encoder: SentenceEncoder,
        *,
        abstain_threshold: float | None = None,
        target_accuracy: float | None = None,
        top_k: int = 3,
    ) -> None:
        """Args:
        artifact: A fitted category head with its card.
        encoder: The shared (memoised) sentence encoder the head was trained on.
        abstain_threshold: Confidence below which the stage abstains; defaults to the one chosen
            at training time (the card's).
        target_accuracy: Another operating point: the threshold whose out-of-fold accepted accuracy reaches
            this target with confidence (ignored when ``abstain_threshold`` is given).
        top_k: Alternatives returned in ``ranking``.

        Raises:
            ArtifactMismatch: the head was trained on another encoder.
        """
        super().__init__(artifact, encoder)
        if abstain_threshold is not None:
            self.abstain_threshold = float(abstain_threshold)
        elif target_accuracy is not None:
            self.abstain_threshold = float(artifact.estimator.abstain_threshold_for(target_accuracy))
        else:
            self.abstain_threshold = artifact.card.abstain_threshold
        self.top_k = top_k

    def _results(
        self, texts: Sequence[str], probabilities: np.ndarray, embeddings: np.ndarray
    ) -> list[CategoryPrediction]:
        scope_similarity = self.artifact.scope.similarity(embeddings)
        return [self._decide(row, float(sim)) for row, sim in zip(probabilities, scope_similarity, strict=True)]

    def _decide(self, probabilities: np.ndarray, scope_similarity: float) -> CategoryPrediction:
        order = np.argsort(-probabilities, kind="stable")[: self.top_k]
        ranking = tuple(LabelScore(self.labels[i], round(float(probabilities[i]), 6)) for i in order)
        best = ranking[0]
        reason = None
        if scope_similarity < self.artifact.scope.threshold:
            reason = "out_of_scope"
        elif best.confidence < self.abstain_threshold:
            reason = "low_confidence"
        return CategoryPrediction(
            label=best.label,
            confidence=best.confidence,
            ranking=ranking,
            abstained=reason is not None,
            abstain_reason=reason,
            model_version=self.model_version,
        )
