"""Sentiment stage: negative/neutral/positive from a trained head, plus a 0-1 anger score."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from models.encoder import SentenceEncoder
from models.loading import ModelArtifact
from triage.engine.results import LabelScore, SentimentScore
from triage.engine.stages.base import HeadStage

#: Model labels that mean "negative"; binary datasets often code negative as 0.
NEGATIVE_LABELS = frozenset({"negative", "neg", "0", "-1", "负面", "消极"})

#: Words that signal anger beyond plain negativity (English, lower-cased; Chinese as written).
ANGER_WORDS = (
    "unacceptable", "ridiculous", "worst", "furious", "angry", "outraged", "disgusting", "scam", "lawyer",
    "third time", "fed up", "sick of", "terrible", "pathetic", "never again", "incompetent", "useless",
    "太过分", "投诉", "垃圾", "气死", "愤怒", "无法接受", "骗子", "再也不", "差评", "忍无可忍", "搞什么",
    "第三次", "坑人", "什么破", "退钱", "欺骗",
)  # fmt: skip
_EXCLAMATIONS = re.compile(r"[!！]{2,}")
_SHOUTED_WORD = re.compile(r"\b[A-Z]{4,}\b")

#: Weight of the model's negative probability in the anger score; the rest comes from cues.
NEGATIVE_WEIGHT = 0.6


def anger_cues(text: str) -> float:
    """Lexical anger intensity in [0, 1]: anger words, repeated exclamation marks, shouting."""
    lowered = text.lower()
    words = sum(1 for word in ANGER_WORDS if word in lowered)
    score = 0.35 * min(words, 2) + 0.2 * bool(_EXCLAMATIONS.search(text)) + 0.1 * bool(_SHOUTED_WORD.search(text))
    return min(score, 1.0)


class SentimentScorer(HeadStage[SentimentScore]):
    """Scores sentiment and anger of a ticket text.

    Example:
        >>> scorer = SentimentScorer(artifact, encoder)
        >>> scorer("This is the third time I write!! Unacceptable.").anger > 0.7
        True
    """

    name = "sentiment"

    def __init__(self, artifact: ModelArtifact, encoder: SentenceEncoder) -> None:
        """Args:
        artifact: A fitted sentiment head (any label set; negative labels are recognised by name).
        encoder: The shared sentence encoder the head was trained on.

        Raises:
            ArtifactMismatch: the head was trained on another encoder.
        """
        super().__init__(artifact, encoder)
        self._negative = np.array([label.lower() in NEGATIVE_LABELS for label in self.labels])

    def _results(self, texts: Sequence[str], probabilities: np.ndarray, embeddings: np.ndarray) -> list[SentimentScore]:
        return [self._score(text, row) for text, row in zip(texts, probabilities, strict=True)]

    def _score(self, text: str, probabilities: np.ndarray) -> SentimentScore:
        order = np.argsort(-probabilities, kind="stable")
        ranking = tuple(LabelScore(self.labels[i], round(float(probabilities[i]), 6)) for i in order)
        negative = float(probabilities[self._negative].sum())
        anger = NEGATIVE_WEIGHT * negative + (1 - NEGATIVE_WEIGHT) * anger_cues(text)
        return SentimentScore(
            label=ranking[0].label,
            confidence=ranking[0].confidence,
            probabilities=ranking,
            anger=round(min(max(anger, 0.0), 1.0), 4),
            model_version=self.model_version,
        )
