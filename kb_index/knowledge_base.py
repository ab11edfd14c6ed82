"""The knowledge base: hybrid (semantic + BM25) search over articles and resolved-ticket solutions.

Storage choice: each snapshot folder holds ``index.faiss`` (the vectors), ``meta.json`` (encoder id
and dimension, index kind, counts) and ``store.json`` (articles, chunks, feedback, links). JSON rather
than SQLite because the metadata must change *atomically together with* the vectors: the three
files are one snapshot published by a single ``os.replace`` of the ``CURRENT`` pointer (see
:mod:`kb_index.index`). The BM25 postings are rebuilt from the chunk texts on load (~1 s per 100k
chunks), so they can never disagree with the store.

Thread safety: searches and mutations take one re-entrant lock; :meth:`KnowledgeBase.reload` loads a
new snapshot *outside* the lock and swaps it in under it, so readers keep the old base until the new
one is complete.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kb_index.documents import Article, Chunk, chunk_article
from kb_index.index import VectorIndex, current_snapshot, read_json, write_snapshot
from kb_index.lexical import BM25Index
from models.encoder import SentenceEncoder
from triage.errors import ArtifactMismatch, InvalidTicket, ModelNotReady
from triage.language import detect_language
from triage.results import Suggestion

FORMAT_VERSION = 1
MODES = ("hybrid", "semantic", "lexical")
FUSIONS = ("weighted", "rrf")
_RRF_K = 60


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """How search ranks; defaults are what docs/knowledge_base.md measured.

    Attributes:
        mode: ``hybrid`` (semantic + lexical), ``semantic`` or ``lexical``.
        fusion: ``weighted`` (``w * cosine + (1 - w) * bm25 / max bm25``) or ``rrf`` (reciprocal rank fusion).
        semantic_weight: ``w`` of the weighted fusion for non-Chinese queries.
        semantic_weight_zh: ``w`` for Chinese queries, where character-bigram BM25 is relatively
            stronger (both chosen on half of each benchmark's queries, docs/knowledge_base.md).
        lexical_norm: ``ceiling`` divides BM25 by the query's best possible score (absolute match
            strength), ``max`` by the best candidate's score.
        candidates: Chunks fetched from each retriever before fusion.
        part_weights_en: For a concatenated encoder, the weight of each part's cosine for a
            non-Chinese query (by part-id prefix). The index stores equal halves; scaling the query's
            parts turns the inner product into ``sum(w_part * cos_part)``, so no re-indexing is needed.
            MiniLM is the stronger English encoder (docs/knowledge_base.md).
        part_weights_zh: The same for a Chinese query: MiniLM cannot read Chinese, so only USE counts.
        feedback_boost: Largest score change feedback may cause (up or down); 0 disables it.
        feedback_prior: Prior helpful rate of an article without feedback.
        feedback_strength: Pseudo-votes of the prior (Bayesian smoothing).
    """

    mode: str = "hybrid"
    fusion: str = "weighted"
    semantic_weight: float = 0.8
    semantic_weight_zh: float = 0.5
    lexical_norm: str = "ceiling"
    candidates: int = 50
    part_weights_en: tuple[tuple[str, float], ...] = (("minilm", 0.7), ("use", 0.3))
    part_weights_zh: tuple[tuple[str, float], ...] = (("minilm", 0.0), ("use", 1.0))
    feedback_boost: float = 0.05
    feedback_prior: float = 0.5
    feedback_strength: float = 4.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown search mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose one of {', '.join(FUSIONS)}")
        if not (0.0 <= self.semantic_weight <= 1.0 and 0.0 <= self.semantic_weight_zh <= 1.0):
            raise ValueError("semantic weights must be in [0, 1]")


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
        self._slices = _part_slices(encoder)
        self._reset(kind)

    def _reset(self, kind: str) -> None:
        self._vectors = VectorIndex(self.encoder.dim, kind=kind)
        self._lexical = BM25Index()
        self._articles: dict[str, Article] = {}
        self._retired: set[str] = set()
        self._chunks: dict[int, Chunk] = {}
        self._rows_of: dict[str, list[int]] = {}
        self._feedback: dict[str, list[int]] = {}
        self._links: dict[str, list[str]] = {}
        self._next_row = 0

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
        n_chunks = sum(len(chunk_article(a)) for a in articles)
        kb = cls(encoder, config=config, kind=kind or VectorIndex.kind_for(n_chunks))
        kb.upsert(articles, show_progress=show_progress)
        return kb

    def save(self, path: str | Path) -> Path:
        """Atomically write a snapshot under ``path`` (see :func:`kb_index.index.write_snapshot`).

        Returns:
            The snapshot folder.
        """
        with self._lock:
            if self._vectors.kind == "hnsw" and len(self._vectors.tombstones) > 0.1 * max(1, len(self._vectors)):
                self._vectors.compact()
            meta = {
                "format_version": FORMAT_VERSION,
                "encoder_id": self.encoder.id,
                "encoder_dim": self.encoder.dim,
                "index_kind": self._vectors.kind,
                "n_articles": len(self._articles),
                "n_vectors": len(self._vectors),
                "tombstones": sorted(self._vectors.tombstones),
                "next_row": self._next_row,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            store = {
                "articles": [asdict(a) for a in self._articles.values()],
                "retired": sorted(self._retired),
                "chunks": {str(row): [c.article_id, c.text, c.snippet, c.position] for row, c in self._chunks.items()},
                "feedback": self._feedback,
                "links": self._links,
            }
            files = {
                "index.faiss": self._vectors.to_bytes(),
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
            kb._vectors = VectorIndex.from_bytes(
                (folder / "index.faiss").read_bytes(),
                dim=encoder.dim,
                kind=meta["index_kind"],
                tombstones=meta.get("tombstones", ()),
            )
        except (OSError, ValueError, RuntimeError) as exc:  # faiss raises RuntimeError on corrupt bytes
            raise ModelNotReady(f"knowledge-base snapshot {folder} is incomplete or corrupt ({exc}); rebuild") from exc
        for raw in store["articles"]:
            raw["tags"] = tuple(raw.get("tags") or ())
            article = Article(**raw)
            kb._articles[article.id] = article
        kb._retired = set(store["retired"])
        for row_text, (article_id, text, snippet, position) in store["chunks"].items():
            row = int(row_text)
            kb._chunks[row] = Chunk(article_id, text, snippet, position)
            kb._rows_of.setdefault(article_id, []).append(row)
            kb._lexical.add(row, text)
        kb._feedback = {k: list(v) for k, v in store["feedback"].items()}
        kb._links = {k: list(v) for k, v in store["links"].items()}
        kb._next_row = int(meta["next_row"])
        return kb

    def reload(self, path: str | Path) -> None:
        """Load the snapshot under ``path`` and swap it in; searches meanwhile use the old one."""
        fresh = KnowledgeBase.load(path, self.encoder, config=self.config)
        with self._lock:
            self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k not in ("_lock", "config")})

    # ------------------------------------------------------------------ mutation
    def upsert(self, articles: Iterable[Article], *, show_progress: bool = False) -> list[str]:
        """Add articles, or replace those whose id exists (an update also un-retires).

        Returns:
            The ids written.
        """
        articles = list(articles)
        chunks = [chunk for article in articles for chunk in chunk_article(article)]
        vectors = self.encoder.encode([c.text for c in chunks], show_progress=show_progress)
        with self._lock:
            for article in articles:
                self._drop_rows(article.id)
                self._articles[article.id] = article
                self._retired.discard(article.id)
            rows = list(range(self._next_row, self._next_row + len(chunks)))
            self._next_row += len(chunks)
            self._vectors.add(rows, vectors)
            for row, chunk in zip(rows, chunks, strict=True):
                self._chunks[row] = chunk
                self._rows_of.setdefault(chunk.article_id, []).append(row)
                self._lexical.add(row, chunk.text)
        return [a.id for a in articles]

    def retire(self, article_id: str) -> None:
        """Hide an outdated article from search; it stays in the store (``upsert`` revives it).

        Raises:
            KeyError: unknown id.
        """
        with self._lock:
            if article_id not in self._articles:
                raise KeyError(f"unknown article {article_id!r}")
            self._drop_rows(article_id)
            self._retired.add(article_id)

    def remove(self, article_id: str) -> None:
        """Delete an article entirely."""
        with self._lock:
            self._drop_rows(article_id)
            self._articles.pop(article_id, None)
            self._retired.discard(article_id)

    def _drop_rows(self, article_id: str) -> None:
        rows = self._rows_of.pop(article_id, [])
        self._vectors.remove(rows)
        for row in rows:
            self._lexical.remove(row)
            self._chunks.pop(row, None)

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
        text = f"{title}\n{solution}".strip()
        vector = self.encoder.encode([text])
        with self._lock:
            scores, ids = self._vectors.search(vector, 1)
            best = float(scores[0, 0]) if ids[0, 0] >= 0 else -1.0
            if best >= dedupe_threshold:
                existing = self._chunks[int(ids[0, 0])].article_id
                self._links.setdefault(existing, [])
                if ticket_id not in self._links[existing]:
                    self._links[existing].append(ticket_id)
                return IngestResult(existing, created=False, duplicate_of=existing, similarity=best)
            article = Article(
                id=f"ticket-{ticket_id}",
                title=title.strip() or solution.strip()[:80],
                body=solution,
                source="ticket",
                ticket_id=ticket_id,
            )
            self.upsert([article])
            self._links.setdefault(article.id, []).append(ticket_id)
        return IngestResult(article.id, created=True, duplicate_of=None, similarity=best)

    def record_feedback(self, article_id: str, *, helpful: bool) -> float:
        """Record an agent's helpful / not-helpful vote.

        Returns:
            The article's new effectiveness.

        Raises:
            KeyError: unknown article.
        """
        with self._lock:
            if article_id not in self._articles:
                raise KeyError(f"unknown article {article_id!r}")
            votes = self._feedback.setdefault(article_id, [0, 0])
            votes[0 if helpful else 1] += 1
            return self.effectiveness(article_id)

    def effectiveness(self, article_id: str) -> float:
        """Bayesian-smoothed helpful rate: ``(helpful + s * prior) / (votes + s)``, in [0, 1]."""
        helpful, unhelpful = self._feedback.get(article_id, (0, 0))
        cfg = self.config
        return (helpful + cfg.feedback_strength * cfg.feedback_prior) / (helpful + unhelpful + cfg.feedback_strength)

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._articles) - len(self._retired)

    def get(self, article_id: str) -> Article:
        """The article with ``article_id`` (KeyError if unknown)."""
        return self._articles[article_id]

    def is_retired(self, article_id: str) -> bool:
        return article_id in self._retired

    def linked_tickets(self, article_id: str) -> tuple[str, ...]:
        """Resolved tickets whose solution is (or duplicated) this entry."""
        return tuple(self._links.get(article_id, ()))

    @property
    def index_kind(self) -> str:
        return self._vectors.kind

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
        vectors = self._query_vectors(texts) if mode != "lexical" else None
        with self._lock:
            if not self._chunks:
                return [[] for _ in texts]
            n_fetch = max(self.config.candidates, 4 * k)
            sem_scores, sem_ids = (
                self._vectors.search(vectors, n_fetch) if vectors is not None else (None, None)
            )
            return [
                self._rank(
                    text,
                    vectors[i] if vectors is not None else None,
                    (sem_scores[i], sem_ids[i]) if sem_scores is not None else None,
                    k,
                    mode,
                    n_fetch,
                )
                for i, text in enumerate(texts)
            ]

    def _query_vectors(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.encoder.encode(list(texts))
        if not self._slices:
            return vectors
        vectors = vectors.copy()
        n_parts = len(self._slices)
        for row, text in enumerate(texts):
            chinese = detect_language(text).language == "zh"
            weights = dict(self.config.part_weights_zh if chinese else self.config.part_weights_en)
            for part_id, part in self._slices:
                # Stored parts are scaled by 1/sqrt(n); n * w turns their inner product into w * cosine.
                weight = next((w for prefix, w in weights.items() if part_id.startswith(prefix)), 1.0 / n_parts)
                vectors[row, part] *= n_parts * weight
        return vectors

    def _rank(
        self,
        text: str,
        vector: np.ndarray | None,
        semantic: tuple[np.ndarray, np.ndarray] | None,
        k: int,
        mode: str,
        n_fetch: int,
    ) -> list[Suggestion]:
        cfg = self.config
        cosine: dict[int, float] = {}
        if semantic is not None:
            cosine = {int(i): float(s) for s, i in zip(*semantic, strict=True) if i >= 0}
        lexical: dict[int, float] = {}
        if mode != "semantic":
            lexical = dict(self._lexical.top(text, n_fetch))
        if mode == "hybrid" and vector is not None:
            missing = [row for row in lexical if row not in cosine]
            if missing:
                extra = self._vectors.reconstruct(missing) @ vector
                cosine.update(zip(missing, extra.tolist(), strict=True))
        rows = set(cosine) | set(lexical)
        if not rows:
            return []
        weight = cfg.semantic_weight_zh if detect_language(text).language == "zh" else cfg.semantic_weight
        if cfg.lexical_norm == "max":
            top_lex = max(lexical.values(), default=0.0) or 1.0
        else:
            top_lex = self._lexical.ceiling(text) or 1.0

        def chunk_score(row: int) -> float:
            sem = max(0.0, cosine.get(row, 0.0))
            lex = lexical.get(row, 0.0) / top_lex
            if mode == "semantic":
                return sem
            if mode == "lexical":
                return lex
            return weight * sem + (1 - weight) * lex

        best_row: dict[str, int] = {}
        best_score: dict[str, float] = {}
        for row in rows:
            article_id = self._chunks[row].article_id
            score = chunk_score(row)
            if score > best_score.get(article_id, -1.0):
                best_score[article_id], best_row[article_id] = score, row
        if mode == "hybrid" and cfg.fusion == "rrf":
            best_score = self._rrf(cosine, lexical)
        if cfg.feedback_boost:
            for article_id in best_score:
                bump = (self.effectiveness(article_id) - cfg.feedback_prior) * 2 * cfg.feedback_boost
                best_score[article_id] = min(1.0, max(0.0, best_score[article_id] + bump))
        ranked = sorted(best_score.items(), key=lambda item: (-item[1], item[0]))[:k]
        out = []
        for article_id, score in ranked:
            article = self._articles[article_id]
            out.append(
                Suggestion(
                    article_id=article_id,
                    score=round(float(score), 6),
                    title=article.title,
                    snippet=self._chunks[best_row[article_id]].snippet,
                    source=article.source,
                )
            )
        return out

    def _rrf(self, cosine: dict[int, float], lexical: dict[int, float]) -> dict[str, float]:
        fused: dict[str, float] = {}
        for scores in (cosine, lexical):
            per_article: dict[str, float] = {}
            for row, score in scores.items():
                article_id = self._chunks[row].article_id
                per_article[article_id] = max(per_article.get(article_id, -np.inf), score)
            ranking = sorted(per_article, key=lambda a: -per_article[a])
            for rank, article_id in enumerate(ranking, start=1):
                fused[article_id] = fused.get(article_id, 0.0) + 1.0 / (_RRF_K + rank)
        # Scaled to [0, 1]: rank 1 in both lists scores 1.
        return {a: s / (2.0 / (_RRF_K + 1)) for a, s in fused.items()}


def _part_slices(encoder: object) -> list[tuple[str, slice]]:
    """``(part id, columns)`` of a concatenated encoder, looking through memoising wrappers."""
    while not hasattr(encoder, "part_slices") and hasattr(encoder, "inner"):
        encoder = encoder.inner
    return list(encoder.part_slices()) if hasattr(encoder, "part_slices") else []
