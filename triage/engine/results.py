"""Frozen, typed results of the triage stages and of the whole pipeline.

Each result carries what an audit needs: the decision, its confidence or score, the reasons behind
it, and the version of the model that produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kb_index.ranking import Suggestion
from triage.kernel.language import LanguagePrediction
from triage.kernel.vocabulary import Priority


@dataclass(frozen=True, slots=True)
class LabelScore:
    """One candidate label with its calibrated probability."""

    label: str
    confidence: float


@dataclass(frozen=True, slots=True)
class CategoryPrediction:
    """Predicted category.

    Attributes:
        label: The best trained label (always one of the model's labels, never invented). When
            ``abstained`` is true the ticket goes to the human queue and ``label`` is only a hint.
        confidence: Calibrated probability of ``label``, in [0, 1].
        ranking: Top alternatives, best first; ``ranking[0].label == label``.
        abstained: True when the model is unsure or the ticket looks out of scope.
        abstain_reason: ``low_confidence`` or ``out_of_scope`` when abstained, else ``None``.
        model_version: Version of the model that produced this prediction.
    """

    label: str
    confidence: float
    ranking: tuple[LabelScore, ...]
    abstained: bool
    abstain_reason: str | None
    model_version: str


@dataclass(frozen=True, slots=True)
class UrgencySignal:
    """One reason behind an urgency score, e.g. ``keyword: "系统崩溃"`` adding 0.25."""

    source: str
    detail: str
    weight: float


@dataclass(frozen=True, slots=True)
class UrgencyScore:
    """Urgency as a 0-1 score and a P1-P4 level (P1 most urgent), with the signals behind it."""

    level: Priority
    score: float
    signals: tuple[UrgencySignal, ...]
    model_version: str


@dataclass(frozen=True, slots=True)
class SentimentScore:
    """Sentiment label (negative/neutral/positive), its probabilities, and a 0-1 anger score."""

    label: str
    confidence: float
    probabilities: tuple[LabelScore, ...]
    anger: float
    model_version: str


@dataclass(frozen=True, slots=True)
class TriageResult:
    """Everything the pipeline decided about one ticket."""

    language: LanguagePrediction
    category: CategoryPrediction
    urgency: UrgencyScore
    sentiment: SentimentScore
    suggestions: tuple[Suggestion, ...] = ()
    degraded: bool = False
    warnings: tuple[str, ...] = ()
    model_versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return asdict(self)
