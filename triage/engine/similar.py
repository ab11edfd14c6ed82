"""Similar tickets and repeat contacts.

:class:`SimilarTicketFinder` keeps an in-memory exact index of recent tickets (their id, customer, creation time,
status and embedding) and answers "which open or recent tickets look like this one?". The same customer asking
again about the same problem is a *repeat contact*, linked to the earlier ticket. It takes embeddings from the
shared (memoised) encoder, so a ticket is encoded once per request. (Incidents, similar tickets from several
customers in a short window, are found over the stored tickets: :mod:`triage.services.processing`.)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from models.encoder import SentenceEncoder, unit_rows
from triage.domain.ticket import Ticket
from triage.kernel.clock import utc_now

#: Cosine at or above which two tickets are flagged as duplicates / the same problem. Chosen on
#: ATEC train for the USE encoder (docs/knowledge_base.md); recalibrate for another encoder.
DEFAULT_DUPLICATE_THRESHOLD = 0.81
DEFAULT_SIMILAR_THRESHOLD = 0.6


def embed_tickets(encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings for ticket-to-ticket cosine similarity.

    The encoder is language-aware (``models.encoder``): a Chinese ticket's row has no MiniLM block, since
    MiniLM maps Chinese to ``[UNK]`` tokens, which would make every two Chinese texts look alike. Scaling
    the row back to unit length makes the Chinese-to-Chinese similarity USE's own cosine.
    """
    return unit_rows(encoder.encode(list(texts)))


def _created(ticket: Ticket) -> datetime:
    if ticket.created_at is None:
        raise ValueError(f"ticket {ticket.id} has no created_at; similar-ticket memory needs it")
    return ticket.created_at


@dataclass(frozen=True, slots=True)
class SimilarTicket:
    """A recent ticket similar to the query, with its cosine similarity."""

    ticket_id: str
    customer_id: str | None
    created_at: datetime
    status: str
    similarity: float
    duplicate: bool


@dataclass(frozen=True, slots=True)
class SimilarityReport:
    """Similar tickets (best first) and the earlier ticket this one repeats, if any."""

    similar: tuple[SimilarTicket, ...]
    repeat_of: str | None


class SimilarTicketFinder:
    """Finds open or recent tickets similar to a new one.

    Example:
        >>> finder = SimilarTicketFinder(encoder)
        >>> finder.add(Ticket("T1", customer=Customer("c1"), created_at=now), "VPN drops every hour")
        >>> finder.find("VPN keeps dropping", customer_id="c1", at=now).repeat_of
        'T1'

    Args:
        encoder: The shared sentence encoder.
        recent: How far back closed tickets still count as "recent"; open ones always count.
        similar_threshold: Cosine from which a ticket is listed as similar.
        duplicate_threshold: Cosine from which it is flagged as a duplicate / repeat.
    """

    def __init__(
        self,
        encoder: SentenceEncoder,
        *,
        recent: timedelta = timedelta(days=14),
        similar_threshold: float = DEFAULT_SIMILAR_THRESHOLD,
        duplicate_threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
    ) -> None:
        self.encoder = encoder
        self.recent = recent
        self.similar_threshold = similar_threshold
        self.duplicate_threshold = duplicate_threshold
        self._tickets: dict[str, Ticket] = {}
        self._row: dict[str, int] = {}
        self._matrix = np.zeros((0, encoder.dim), dtype=np.float32)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tickets)

    def add(self, ticket: Ticket, text: str, *, vector: np.ndarray | None = None) -> None:
        """Index a ticket (re-adding an id replaces it)."""
        vector = embed_tickets(self.encoder, [text])[0] if vector is None else np.asarray(vector, dtype=np.float32)
        with self._lock:
            if ticket.id in self._row:
                self._matrix[self._row[ticket.id]] = vector
            else:
                self._row[ticket.id] = len(self._matrix)
                self._matrix = np.vstack([self._matrix, vector[None, :]])
            self._tickets[ticket.id] = ticket

    def prune(self, now: datetime) -> int:
        """Forget closed tickets older than ``recent``; returns how many were dropped."""
        with self._lock:
            keep = [t for t in self._tickets.values() if self._is_recent(t, now)]
            dropped = len(self._tickets) - len(keep)
            if dropped:
                rows = [self._row[t.id] for t in keep]
                self._matrix = self._matrix[rows] if rows else self._matrix[:0]
                self._tickets = {t.id: t for t in keep}
                self._row = {t.id: i for i, t in enumerate(keep)}
            return dropped

    def _is_recent(self, ticket: Ticket, now: datetime) -> bool:
        return ticket.is_open or now - _created(ticket) <= self.recent

    def find(
        self,
        text: str,
        *,
        customer_id: str | None = None,
        at: datetime | None = None,
        k: int = 5,
        exclude: str | None = None,
        vector: np.ndarray | None = None,
    ) -> SimilarityReport:
        """Similar open or recent tickets, and the earlier ticket of the same customer this repeats.

        Args:
            text: The new ticket's text.
            customer_id: Its customer; needed for repeat-contact detection.
            at: Its creation time (default now, in UTC).
            k: Similar tickets returned at most.
            exclude: A ticket id to leave out (the ticket itself, if already indexed).
            vector: Its embedding, if already computed.
        """
        at = at or utc_now()
        vector = embed_tickets(self.encoder, [text])[0] if vector is None else np.asarray(vector, dtype=np.float32)
        with self._lock:
            if not self._tickets:
                return SimilarityReport((), None)
            scores = self._matrix @ vector
            ids = list(self._row)
            hits = []
            for index in np.argsort(-scores, kind="stable"):
                ticket = self._tickets[ids[index]]
                score = float(scores[index])
                if score < self.similar_threshold:
                    break
                if ticket.id == exclude or not self._is_recent(ticket, at) or _created(ticket) > at:
                    continue
                hits.append(SimilarTicket(ticket.id, ticket.customer.id, _created(ticket), ticket.status,
                                          round(score, 6), score >= self.duplicate_threshold))  # fmt: skip
        repeat = next(
            (h.ticket_id for h in hits if h.duplicate and customer_id is not None and h.customer_id == customer_id),
            None,
        )
        return SimilarityReport(tuple(hits[:k]), repeat)
