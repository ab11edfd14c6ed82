"""Agents' helpful / not-helpful votes on suggested articles, turned into a bounded ranking boost."""

from __future__ import annotations

from collections.abc import Mapping


class FeedbackLedger:
    """Votes per article and the article's effectiveness.

    Effectiveness is the Bayesian-smoothed helpful rate ``(helpful + s * prior) / (votes + s)``: an article
    without votes sits at ``prior``, and a few votes move it only a little.

    Args:
        prior: Helpful rate assumed before any vote.
        strength: Pseudo-votes the prior is worth (``s``).
        votes: Existing ``article id -> [helpful, unhelpful]`` counts (from a snapshot).
    """

    def __init__(
        self, *, prior: float = 0.5, strength: float = 4.0, votes: Mapping[str, list[int]] | None = None
    ) -> None:
        self.prior = prior
        self.strength = strength
        self.votes: dict[str, list[int]] = {k: list(v) for k, v in (votes or {}).items()}

    def record(self, article_id: str, *, helpful: bool) -> float:
        """Count one vote; returns the article's new effectiveness."""
        counts = self.votes.setdefault(article_id, [0, 0])
        counts[0 if helpful else 1] += 1
        return self.effectiveness(article_id)

    def effectiveness(self, article_id: str) -> float:
        """Smoothed helpful rate in [0, 1]."""
        helpful, unhelpful = self.votes.get(article_id, (0, 0))
        return (helpful + self.strength * self.prior) / (helpful + unhelpful + self.strength)

    def boost(self, article_id: str, *, bound: float) -> float:
        """Score change in ``[-bound, +bound]``: positive for articles rated above the prior, negative below."""
        return (self.effectiveness(article_id) - self.prior) * 2 * bound
