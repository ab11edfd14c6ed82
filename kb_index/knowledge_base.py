"""The knowledge base: hybrid (semantic + BM25) search over articles and resolved-ticket solutions.

It composes four parts, each small enough to read on its own:

* :class:`~kb_index.corpus.Corpus`: articles, chunks and both indexes, changed together;
* :class:`~kb_index.ranking.Ranker`: query weighting and hybrid fusion;
* :class:`~kb_index.feedback.FeedbackLedger`: agents' votes and the bounded boost they give;
* :mod:`kb_index.snapshots`: atomic, versioned snapshots on disk.

Storage choice: each snapshot folder holds ``index.faiss`` (the vectors), ``meta.json`` (encoder id and dimension,
index kind, counts) and ``store.json`` (articles, chunks, feedback, links). JSON rather than SQLite because the
metadata must change *atomically together with* the vectors: the three files are one snapshot published by a
single ``os.replace`` of the ``CURRENT`` pointer. The BM25 postings are rebuilt from the chunk texts on load
(~1 s per 100k chunks), so they can never disagree with the store.

Thread safety: searches and mutations take one re-entrant lock; :meth:`KnowledgeBase.reload` loads a new snapshot
*outside* the lock and swaps it in under it, so readers keep the old base until the new one is complete.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb_index.corpus import Corpus
from kb_index.documents import Article
from kb_index.feedback import FeedbackLedger
from kb_index.ranking import MODES, Ranker, SearchConfig, Suggestion
from kb_index.snapshots import current_snapshot, read_json, write_snapshot
from kb_index.vectors import VectorIndex
from models.encoder import SentenceEncoder, encoder_runtime, part_slices
from triage.kernel.errors import ArtifactMismatch, InvalidTicket, ModelNotReady

#: Bump when stored vectors change meaning. 2: language-aware encoding (Chinese chunks have a zero MiniLM block).
FORMAT_VERSION = 2


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Outcome of ingesting a resolved ticket's solution."""

    article_id: str
    created: bool
    duplicate_of: str | None
    similarity: float


class KnowledgeBase:
    """Articles and solved tickets, searchable by meaning and by exact tokens.

    Example:
        >>> kb = KnowledgeBase.build(load_articles("demo/kb"), encoder)
        >>> kb.search("VPN keeps disconnecting", k=3)[0].article_id
        'repair-network-vpn'
    """

    def __init__(self, encoder: SentenceEncoder, *, config: SearchConfig | None = None, kind: str = "flat") -> None:
        """Create an empty knowledge base; use :meth:`build` or :meth:`load` to fill one.

        Args:
            encoder: The (shared, memoised) sentence encoder.
            config: Ranking settings.
            kind: Vector index kind, ``flat`` or ``hnsw``.
        """
        self.encoder = encoder
        self.config = config or SearchConfig()
        self._lock = threading.RLock()
        self._ranker = Ranker(self.config, part_slices(encoder))
        self._corpus = Corpus(encoder.dim, kind=kind)
        self._feedback = self._new_ledger()

    def _new_ledger(self, votes: dict[str, list[int]] | None = None) -> FeedbackLedger:
        return FeedbackLedger(prior=self.config.feedback_prior, strength=self.config.feedback_strength, votes=votes)

    # ------------------------------------------------------------------ construction and storage
    @classmethod
    def build(
        cls,
        articles: Iterable[Article],
        encoder: SentenceEncoder,
        *,
        config: SearchConfig | None = None,
        kind: str | None = None,
        show_progress: bool = False,
    ) -> KnowledgeBase:
        """Chunk, embed and index ``articles``.

        Args:
            articles: Articles with unique ids.
            encoder: Sentence encoder.
            config: Ranking settings.
            kind: ``flat`` or ``hnsw``; by default chosen from the number of chunks.
            show_progress: Progress bar on stderr while embedding.
        """
        articles = list(articles)
        kb = cls(encoder, config=config, kind=kind or VectorIndex.kind_for(len(Corpus.chunk(articles))))
        kb.upsert(articles, show_progress=show_progress)
        return kb

    def save(self, path: str | Path) -> Path:
        """Atomically write a snapshot under ``path`` (see :func:`kb_index.snapshots.write_snapshot`).

        Returns:
            The snapshot folder.
        """
        with self._lock:
            corpus = self._corpus
            if corpus.vectors.needs_compaction():
                corpus.vectors.compact()
            meta = {
                "format_version": FORMAT_VERSION,
                "encoder_id": self.encoder.id,
                "encoder_dim": self.encoder.dim,
                "encoder_runtime": encoder_runtime(self.encoder),
                "index_kind": corpus.vectors.kind,
                "n_articles": len(corpus.articles),
                "n_vectors": len(corpus.vectors),
                "tombstones": sorted(corpus.vectors.tombstones),
                "next_row": corpus.next_row,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            store = {**corpus.to_store(), "feedback": self._feedback.votes}
            files = {
                "index.faiss": corpus.vectors.to_bytes(),
                "meta.json": json.dumps(meta, indent=2).encode(),
                "store.json": json.dumps(store, ensure_ascii=False).encode(),
            }
        return write_snapshot(path, files)

    @classmethod
    def load(cls, path: str | Path, encoder: SentenceEncoder, *, config: SearchConfig | None = None) -> KnowledgeBase:
        """Load the current snapshot under ``path``.

        Raises:
            ModelNotReady: no index there, or it is unreadable.
            ArtifactMismatch: the index was built with another encoder or format.
        """
        folder = current_snapshot(path)
        try:
            meta = read_json(folder, "meta.json")
        except (OSError, ValueError) as exc:
            raise ModelNotReady(f"knowledge-base index {folder} is unreadable ({exc}); rebuild it") from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactMismatch(
                f"knowledge-base index {path} has format {meta.get('format_version')}, this code reads "
                f"{FORMAT_VERSION}; rebuild it with `triage kb build`"
            )
        if meta.get("encoder_id") != encoder.id or meta.get("encoder_dim") != encoder.dim:
            raise ArtifactMismatch(
                f"knowledge-base index {path} was built with encoder {meta.get('encoder_id')} "
                f"({meta.get('encoder_dim')}-d) but the service runs {encoder.id} ({encoder.dim}-d); "
                "set TRIAGE_ENCODER / --encoder to match, or rebuild the index with `triage kb build`"
            )
        kb = cls(encoder, config=config, kind=meta["index_kind"])
        try:
            store = read_json(folder, "store.json")
            vectors = VectorIndex.from_bytes(
                (folder / "index.faiss").read_bytes(),
                dim=encoder.dim,
                kind=meta["index_kind"],
                tombstones=meta.get("tombstones", ()),
            )
        except (OSError, ValueError, RuntimeError) as exc:  # faiss raises RuntimeError on corrupt bytes
            raise ModelNotReady(f"knowledge-base snapshot {folder} is incomplete or corrupt ({exc}); rebuild") from exc
        kb._corpus = Corpus.from_store(store, vectors, next_row=int(meta["next_row"]))
        kb._feedback = kb._new_ledger(store["feedback"])
        return kb

    def reload(self, path: str | Path) -> None:
        """Load the snapshot under ``path`` and swap it in; searches meanwhile use the old one."""
        fresh = KnowledgeBase.load(path, self.encoder, config=self.config)
        with self._lock:
            self._corpus, self._feedback = fresh._corpus, fresh._feedback

    # ------------------------------------------------------------------ mutation
    def upsert(self, articles: Iterable[Article], *, show_progress: bool = False) -> list[str]:
        """Add articles, or replace those whose id exists (an update also un-retires).

        Returns:
            The ids written.
        """
        articles = list(articles)
        chunks = Corpus.chunk(articles)
        vectors = self.encoder.encode([c.text for c in chunks], show_progress=show_progress)
        with self._lock:
            return self._corpus.upsert(articles, chunks, vectors)

    def retire(self, article_id: str) -> None:
        """Hide an outdated article from search; it stays in the store (``upsert`` revives it).

        Raises:
            KeyError: unknown id.
        """
        with self._lock:
            self._corpus.retire(article_id)

    def remove(self, article_id: str) -> None:
        """Delete an article entirely."""
        with self._lock:
            self._corpus.remove(article_id)

    def add_solution(
        self, *, ticket_id: str, solution: str, title: str = "", dedupe_threshold: float = 0.92
    ) -> IngestResult:
        """Ingest a resolved ticket's solution; searchable as soon as this returns.

        A solution whose embedding is at least ``dedupe_threshold`` cosine-similar to an existing
        entry is not added again: the ticket is linked to that entry instead.

        Args:
            ticket_id: The resolved ticket.
            solution: The solution text the agent wrote.
            title: Optional short title (e.g. the ticket subject).
            dedupe_threshold: Cosine at or above which the solution counts as already known.

        Raises:
            InvalidTicket: empty solution.
        """
        if not solution.strip():
            raise InvalidTicket(f"ticket {ticket_id}: the solution is empty; nothing to add to the knowledge base")
        vector = self.encoder.encode([f"{title}\n{solution}".strip()])
        with self._lock:
            existing, similarity = self._corpus.nearest(vector)
            if existing is not None and similarity >= dedupe_threshold:
                self._corpus.link(existing, ticket_id)
                return IngestResult(existing, created=False, duplicate_of=existing, similarity=similarity)
            article = Article(
                id=f"ticket-{ticket_id}",
                title=title.strip() or solution.strip()[:80],
                body=solution,
                source="ticket",
                ticket_id=ticket_id,
            )
            self.upsert([article])
            self._corpus.link(article.id, ticket_id)
        return IngestResult(article.id, created=True, duplicate_of=None, similarity=similarity)

    def record_feedback(self, article_id: str, *, helpful: bool) -> float:
        """Record an agent's helpful / not-helpful vote.

        Returns:
            The article's new effectiveness.

        Raises:
            KeyError: unknown article.
        """
        with self._lock:
            if article_id not in self._corpus.articles:
                raise KeyError(f"unknown article {article_id!r}")
            return self._feedback.record(article_id, helpful=helpful)

    def effectiveness(self, article_id: str) -> float:
        """Bayesian-smoothed helpful rate: ``(helpful + s * prior) / (votes + s)``, in [0, 1]."""
        return self._feedback.effectiveness(article_id)

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._corpus)

    def get(self, article_id: str) -> Article:
        """The article with ``article_id`` (KeyError if unknown)."""
        return self._corpus.articles[article_id]

    def is_retired(self, article_id: str) -> bool:
        return article_id in self._corpus.retired

    def linked_tickets(self, article_id: str) -> tuple[str, ...]:
        """Resolved tickets whose solution is (or duplicated) this entry."""
        return tuple(self._corpus.links.get(article_id, ()))

    @property
    def index_kind(self) -> str:
        return self._corpus.vectors.kind

    def search(self, text: str, k: int = 5, *, mode: str | None = None) -> list[Suggestion]:
        """Top-``k`` articles for ``text``, best first, one suggestion per article.

        Args:
            text: Ticket text (any language the encoder reads).
            k: Suggestions wanted.
            mode: Override the configured mode (``hybrid``, ``semantic``, ``lexical``).
        """
        return self.search_batch([text], k, mode=mode)[0]

    def search_batch(self, texts: Sequence[str], k: int = 5, *, mode: str | None = None) -> list[list[Suggestion]]:
        """:meth:`search` for several texts, embedding them in one call."""
        mode = mode or self.config.mode
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
        if not texts:
            return []
        vectors = None
        if mode != "lexical":
            vectors = self._ranker.weigh_queries(texts, self.encoder.encode(list(texts)))
        with self._lock:
            corpus = self._corpus
            if not corpus.chunks:
                return [[] for _ in texts]
            n_fetch = max(self.config.candidates, 4 * k)
            semantic = corpus.vectors.search(vectors, n_fetch) if vectors is not None else None
            bound = self.config.feedback_boost
            return [
                self._ranker.rank(
                    text,
                    vectors[i] if vectors is not None else None,
                    (semantic[0][i], semantic[1][i]) if semantic is not None else None,
                    corpus,
                    k=k,
                    mode=mode,
                    n_fetch=n_fetch,
                    boost=lambda article_id: self._feedback.boost(article_id, bound=bound),
                )
                for i, text in enumerate(texts)
            ]
