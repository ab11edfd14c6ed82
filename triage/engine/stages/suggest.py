"""Suggest stage: top-k knowledge-base articles for a ticket."""

from __future__ import annotations

from collections.abc import Sequence

from kb_index.knowledge_base import KnowledgeBase
from kb_index.ranking import Suggestion


class AnswerSuggester:
    """Suggests answer articles and solved tickets for a ticket text.

    Example:
        >>> suggester = AnswerSuggester(KnowledgeBase.load("var/kb", encoder), k=5)
        >>> suggester("VPN keeps disconnecting")[0].article_id
        'repair-network-vpn'

    Args:
        knowledge_base: A loaded knowledge base. Give it the pipeline's shared ``MemoizedEncoder``
            so each ticket text is embedded once per request.
        k: Suggestions per ticket.
    """

    name = "suggest"

    def __init__(self, knowledge_base: KnowledgeBase, k: int = 5) -> None:
        if k <= 0:
            raise ValueError("k must be positive")
        self.knowledge_base = knowledge_base
        self.k = k

    def __call__(self, text: str) -> tuple[Suggestion, ...]:
        """Top-``k`` suggestions, best first (empty when the base is empty)."""
        return tuple(self.knowledge_base.search(text, self.k))

    def batch(self, texts: Sequence[str]) -> list[tuple[Suggestion, ...]]:
        """Equal to ``[self(t) for t in texts]``, with one encoder call."""
        return [tuple(r) for r in self.knowledge_base.search_batch(list(texts), self.k)]
