"""Urgency stage: a P1-P4 level and a 0-1 score from the text model, keywords and context.

The score starts from the text model's expected urgency (each label weighted from 1.0 for the most
urgent to 0.0 for the least). Signals can only raise it: bilingual urgency keywords, then, in
:func:`apply_context`, customer tier, anger and repeated contacts. Every signal is recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from models.encoder import SentenceEncoder
from models.loading import ModelArtifact
from triage.domain.ticket import Ticket
from triage.engine.results import SentimentScore, UrgencyScore, UrgencySignal
from triage.engine.stages.base import HeadStage
from triage.kernel.vocabulary import Priority, Tier

#: Keywords that raise urgency, with their weight. Matching is case-insensitive substring.
URGENCY_KEYWORDS: dict[str, float] = {
    "outage": 0.25, "down for all": 0.3, "all users": 0.2, "everyone": 0.1, "production down": 0.3,
    "site is down": 0.25, "system down": 0.25, "data loss": 0.25, "security breach": 0.3, "hacked": 0.3,
    "fraud": 0.25, "urgent": 0.15, "asap": 0.1, "immediately": 0.1, "emergency": 0.2, "critical": 0.15,
    "系统崩溃": 0.3, "崩溃": 0.15, "紧急": 0.2, "宕机": 0.3, "瘫痪": 0.3, "全部用户": 0.25, "所有用户": 0.25,
    "无法访问": 0.15, "数据丢失": 0.25, "被盗": 0.25, "盗刷": 0.3, "马上": 0.1, "尽快": 0.1, "严重": 0.1,
}  # fmt: skip
#: Keyword boosts are capped, so text alone cannot outweigh the model by much.
KEYWORD_CAP = 0.3
VIP_BOOST = 0.1
ANGER_BOOST = 0.1
REPEAT_BOOST, REPEAT_CAP = 0.05, 0.15
#: Lower score bounds of P1, P2 and P3; below the last is P4.
LEVEL_BOUNDS = (0.75, 0.5, 0.25)


def level_for(score: float) -> Priority:
    """Map a 0-1 urgency score to P1 (most urgent) .. P4."""
    levels = Priority.ordered()
    for level, bound in zip(levels, LEVEL_BOUNDS, strict=False):
        if score >= bound:
            return level
    return levels[-1]


def keyword_signals(text: str) -> list[UrgencySignal]:
    """Urgency keywords found in ``text``, strongest first, with weights capped at KEYWORD_CAP in total."""
    lowered = text.lower()
    found = sorted(((kw, w) for kw, w in URGENCY_KEYWORDS.items() if kw in lowered), key=lambda kw_w: -kw_w[1])
    signals, budget = [], KEYWORD_CAP
    for keyword, weight in found:
        if budget <= 0:
            break
        weight = min(weight, budget)
        budget -= weight
        signals.append(UrgencySignal("keyword", keyword, round(weight, 4)))
    return signals


def _rescore(base: UrgencyScore, extra: list[UrgencySignal]) -> UrgencyScore:
    score = min(1.0, max(0.0, base.score + sum(s.weight for s in extra)))
    return dataclasses.replace(base, score=round(score, 4), level=level_for(score), signals=base.signals + tuple(extra))


def apply_context(urgency: UrgencyScore, *, ticket: Ticket | None, sentiment: SentimentScore | None) -> UrgencyScore:
    """Raise an urgency score by the ticket's context: VIP tier, anger and repeated contacts."""
    extra: list[UrgencySignal] = []
    if ticket is not None and ticket.tier == Tier.VIP:
        extra.append(UrgencySignal("tier", "vip", VIP_BOOST))
    if sentiment is not None and sentiment.anger >= 0.5:
        extra.append(
            UrgencySignal("sentiment", f"anger {sentiment.anger:.2f}", round(ANGER_BOOST * sentiment.anger, 4))
        )
    if ticket is not None and ticket.repeat_contacts > 0:
        weight = min(REPEAT_CAP, REPEAT_BOOST * ticket.repeat_contacts)
        extra.append(UrgencySignal("repeat_contact", f"{ticket.repeat_contacts} earlier contacts", weight))
    return _rescore(urgency, extra) if extra else urgency


def label_weights(labels: Sequence[str], label_order: Sequence[str] | None = None) -> np.ndarray:
    """Urgency weight per model label: 1.0 for the most urgent, 0.0 for the least.

    ``label_order`` lists the labels from most to least urgent; by default labels are sorted, which
    suits ``P1..P4`` and ``1=high .. 4=low`` codings.
    """
    order = list(label_order) if label_order else sorted(labels)
    if sorted(order) != sorted(labels):
        raise ValueError(f"urgency label order {order} does not match the model labels {sorted(labels)}")
    rank = {label: i for i, label in enumerate(order)}
    span = max(len(order) - 1, 1)
    return np.array([1.0 - rank[label] / span for label in labels])


class UrgencyScorer(HeadStage[UrgencyScore]):
    """Scores urgency from text: the trained head's expected urgency plus keyword signals.

    Example:
        >>> scorer = UrgencyScorer(artifact, encoder)
        >>> scorer("系统崩溃，全部用户无法登录").level
        'P1'
    """

    name = "urgency"

    def __init__(self, artifact: ModelArtifact, encoder: SentenceEncoder) -> None:
        """Args:
        artifact: A fitted urgency head; its card's ``params["label_order"]`` may give the labels
            from most to least urgent.
        encoder: The shared sentence encoder the head was trained on.

        Raises:
            ArtifactMismatch: the head was trained on another encoder.
        """
        super().__init__(artifact, encoder)
        self.weights = label_weights(self.labels, artifact.card.params.get("label_order"))

    def _results(self, texts: Sequence[str], probabilities: np.ndarray, embeddings: np.ndarray) -> list[UrgencyScore]:
        return [self._score(text, row) for text, row in zip(texts, probabilities, strict=True)]

    def _score(self, text: str, probabilities: np.ndarray) -> UrgencyScore:
        model_score = float(probabilities @ self.weights)
        best = self.labels[int(np.argmax(probabilities))]
        base = UrgencyScore(
            level=level_for(model_score),
            score=round(model_score, 4),
            signals=(UrgencySignal("model", f"predicted {best}", round(model_score, 4)),),
            model_version=self.model_version,
        )
        return _rescore(base, keyword_signals(text))
