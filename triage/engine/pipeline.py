"""The triage pipeline: language, category, sentiment, urgency and suggestions for one ticket.

One :class:`TriagePipeline` object runs every stage. Stages share one memoised encoder, so a
ticket's text is embedded once per request; ``batch`` embeds all texts in one pass first, and
returns exactly what per-ticket calls return.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from kb_index.ranking import Suggestion
from models.encoder import SentenceEncoder
from triage.domain.ticket import Ticket
from triage.engine.results import TriageResult
from triage.engine.stages.base import Stage
from triage.engine.stages.classify import CategoryClassifier
from triage.engine.stages.sentiment import SentimentScorer
from triage.engine.stages.urgency import UrgencyScorer, apply_context
from triage.engine.stages.zero_shot import ZeroShotClassifier
from triage.kernel.errors import InvalidTicket
from triage.kernel.language import detect_language

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: ``observer(stage, seconds, batch_size)``.
StageObserver = Callable[[str, float, int], None]

#: Default limit on subject + body, in characters (see Settings.max_text_chars).
DEFAULT_MAX_CHARS = 20_000


def validate_text(text: object, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Check ticket text at the edge of the core.

    Raises:
        InvalidTicket: not a string, empty or whitespace-only, or longer than ``max_chars``.
    """
    if not isinstance(text, str):
        raise InvalidTicket(f"ticket text must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidTicket("ticket text is empty: send a subject or a body with some words in it")
    if len(stripped) > max_chars:
        raise InvalidTicket(
            f"ticket text has {len(stripped)} characters, more than the limit of {max_chars}; "
            "send the first part and attach the rest, or raise TRIAGE_MAX_TEXT_CHARS"
        )
    return stripped


class TriagePipeline:
    """Runs every triage stage on a ticket text.

    Example:
        >>> pipeline = TriagePipeline(classify=c, urgency=u, sentiment=s, suggest=kb, encoder=enc)
        >>> pipeline("VPN 连不上，报错 E1043").category.label
        'repair/network'
    """

    def __init__(
        self,
        *,
        classify: CategoryClassifier | ZeroShotClassifier,
        urgency: UrgencyScorer,
        sentiment: SentimentScorer,
        suggest: Stage[tuple[Suggestion, ...]] | None = None,
        encoder: SentenceEncoder | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        observer: StageObserver | None = None,
    ) -> None:
        """Args:
        classify, urgency, sentiment: Fitted stages sharing one memoised encoder.
        suggest: Optional knowledge-base stage; when it fails, the result is ``degraded``.
        encoder: The shared encoder; ``batch`` warms it with all texts in one pass.
        max_chars: Longest accepted text.
        observer: Told how long each stage of each batch took (``encode``, ``category``, ...), e.g. for metrics.
        """
        self.classify = classify
        self.urgency = urgency
        self.sentiment = sentiment
        self.suggest = suggest
        self.encoder = encoder
        self.max_chars = max_chars
        self.observer = observer

    @property
    def model_versions(self) -> dict[str, str]:
        return {
            "category": self.classify.model_version,
            "urgency": self.urgency.model_version,
            "sentiment": self.sentiment.model_version,
        }

    def __call__(self, text: str, ticket: Ticket | None = None) -> TriageResult:
        return self.batch([text], [ticket])[0]

    def batch(self, texts: Sequence[str], tickets: Sequence[Ticket | None] | None = None) -> list[TriageResult]:
        """Triage several texts; element-wise equal to per-text calls.

        Args:
            texts: Ticket texts (subject and body joined, see :attr:`Ticket.text`).
            tickets: The ticket behind each text, if known: its customer tier and repeated contacts raise the
                urgency score.

        Raises:
            InvalidTicket: any text is invalid (the message gives its position).
        """
        if tickets is not None and len(tickets) != len(texts):
            raise InvalidTicket(f"got {len(texts)} texts but {len(tickets)} tickets")
        clean = []
        for position, text in enumerate(texts):
            try:
                clean.append(validate_text(text, max_chars=self.max_chars))
            except InvalidTicket as exc:
                raise InvalidTicket(f"ticket {position}: {exc}") from exc
        if not clean:
            return []
        if self.encoder is not None:
            self._timed("encode", len(clean), self.encoder.encode, clean)  # one pass fills the shared memo
        categories = self._timed("category", len(clean), self.classify.batch, clean)
        sentiments = self._timed("sentiment", len(clean), self.sentiment.batch, clean)
        urgencies = self._timed("urgency", len(clean), self.urgency.batch, clean)
        suggestions, warnings = self._timed("suggest", len(clean), self._suggest, clean)
        context = tickets or [None] * len(clean)
        return [
            TriageResult(
                language=detect_language(text),
                category=category,
                urgency=apply_context(urgency, ticket=ticket, sentiment=sentiment),
                sentiment=sentiment,
                suggestions=found,
                degraded=bool(warnings),
                warnings=warnings,
                model_versions=self.model_versions,
            )
            for text, category, sentiment, urgency, found, ticket in zip(
                clean, categories, sentiments, urgencies, suggestions, context, strict=True
            )
        ]

    def _timed(self, stage: str, size: int, step: Callable[[list[str]], T], texts: list[str]) -> T:
        if self.observer is None:
            return step(texts)
        started = time.perf_counter()
        out = step(texts)
        self.observer(stage, time.perf_counter() - started, size)
        return out

    def _suggest(self, texts: list[str]) -> tuple[list[tuple[Suggestion, ...]], tuple[str, ...]]:
        if self.suggest is None:
            return [()] * len(texts), ()
        try:
            return list(self.suggest.batch(texts)), ()
        except Exception as exc:  # suggestions are optional: degrade, never fail the triage
            logger.warning("knowledge-base suggestions failed", extra={"error": type(exc).__name__})
            return [()] * len(texts), (f"suggestions unavailable: {type(exc).__name__}",)
