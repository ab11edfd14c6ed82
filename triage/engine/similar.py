"""Similar tickets, repeat contacts and possible incidents.

* :class:`SimilarTicketFinder` keeps an in-memory exact index of recent tickets (their id, customer,
  creation time, status and embedding) and answers "which open or recent tickets look like this one?".
  The same customer asking again about the same problem is a *repeat contact*, linked to the
  earlier ticket.
* :class:`IncidentDetector` watches the stream: when at least ``min_customers`` distinct customers
  send mutually similar tickets within ``window``, it raises one :class:`IncidentEvent` for the
  cluster. Later tickets that join the cluster are attached to it without firing again.

Both take embeddings from the shared (memoised) encoder, so a ticket is encoded once per request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from models.encoder import SentenceEncoder, unit_rows
from triage.domain.ticket import Ticket
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import TicketStatus

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

    @property
    def is_repeat_contact(self) -> bool:
        return self.repeat_of is not None


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

    def set_status(self, ticket_id: str, status: TicketStatus) -> None:
        """Update a ticket's status (e.g. to ``resolved``)."""
        with self._lock:
            self._tickets[ticket_id] = replace(self._tickets[ticket_id], status=status)

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


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """A possible incident: similar tickets from several customers in a short window."""

    incident_id: str
    ticket_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]
    first_at: datetime
    last_at: datetime


class IncidentDetector:
    """Raises one :class:`IncidentEvent` per burst of similar tickets from distinct customers.

    A new ticket's neighbours are the tickets of the last ``window`` with cosine at least
    ``threshold``. If a neighbour already belongs to a fired cluster, the ticket joins it silently.
    Otherwise, once the ticket and its neighbours span ``min_customers`` distinct customers, a new
    cluster is formed and its event is returned, exactly once.

    Example:
        >>> detector = IncidentDetector(encoder, min_customers=3)
        >>> events = [detector.observe(t, text) for t, text in stream]
    """

    def __init__(
        self,
        encoder: SentenceEncoder,
        *,
        min_customers: int = 3,
        window: timedelta = timedelta(minutes=30),
        threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
    ) -> None:
        self.encoder = encoder
        self.min_customers = min_customers
        self.window = window
        self.threshold = threshold
        self._recent: list[tuple[Ticket, np.ndarray]] = []
        self._cluster_of: dict[str, str] = {}
        self._clusters: dict[str, list[Ticket]] = {}
        self._lock = threading.Lock()

    def cluster_of(self, ticket_id: str) -> str | None:
        """The incident a ticket was attached to, if any."""
        return self._cluster_of.get(ticket_id)

    def observe(self, ticket: Ticket, text: str, *, vector: np.ndarray | None = None) -> IncidentEvent | None:
        """Feed one new ticket; returns an event only when this ticket completes a new cluster."""
        vector = embed_tickets(self.encoder, [text])[0] if vector is None else np.asarray(vector, dtype=np.float32)
        with self._lock:
            horizon = _created(ticket) - self.window
            self._recent = [(t, v) for t, v in self._recent if _created(t) >= horizon]
            neighbours = [t for t, v in self._recent if float(v @ vector) >= self.threshold]
            self._recent.append((ticket, vector))
            fired = next((self._cluster_of[t.id] for t in neighbours if t.id in self._cluster_of), None)
            if fired is not None:
                self._cluster_of[ticket.id] = fired
                self._clusters[fired].append(ticket)
                return None
            members = [*neighbours, ticket]
            customers = {t.customer.id or t.id for t in members}
            if len(customers) < self.min_customers:
                return None
            incident_id = f"incident-{ticket.id}"
            self._clusters[incident_id] = members
            for member in members:
                self._cluster_of[member.id] = incident_id
            return IncidentEvent(
                incident_id=incident_id,
                ticket_ids=tuple(t.id for t in members),
                customer_ids=tuple(sorted(customers)),
                first_at=min(_created(t) for t in members),
                last_at=_created(ticket),
            )
