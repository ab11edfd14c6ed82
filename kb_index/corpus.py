"""The indexed corpus: articles, their chunks, the vector index and the BM25 index, changed together.

Every mutation keeps the four in step: an article's chunks are rows in both indexes, an update replaces them, a
retired article keeps its text but leaves both indexes. The corpus is not thread-safe on its own; the
:class:`~kb_index.knowledge_base.KnowledgeBase` serialises access to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from kb_index.documents import Article, Chunk, chunk_article
from kb_index.lexical import BM25Index
from kb_index.vectors import VectorIndex
from models.encoder import unit_rows


class Corpus:
    """Articles and chunks with their vector and lexical indexes.

    Args:
        dim: Vector dimension of the encoder.
        kind: Vector index kind, ``flat`` or ``hnsw``.
    """

    def __init__(self, dim: int, *, kind: str = "flat") -> None:
        self.vectors = VectorIndex(dim, kind=kind)
        self.lexical = BM25Index()
        self.articles: dict[str, Article] = {}
        self.retired: set[str] = set()
        self.chunks: dict[int, Chunk] = {}
        self.rows_of: dict[str, list[int]] = {}
        self.links: dict[str, list[str]] = {}
        self.next_row = 0

    def __len__(self) -> int:
        return len(self.articles) - len(self.retired)

    @staticmethod
    def chunk(articles: Iterable[Article]) -> list[Chunk]:
        """The chunks of ``articles``, in order (embed their ``text`` before :meth:`upsert`)."""
        return [chunk for article in articles for chunk in chunk_article(article)]

    def upsert(self, articles: Sequence[Article], chunks: Sequence[Chunk], vectors: np.ndarray) -> list[str]:
        """Add ``articles`` (or replace those whose id exists; an update also un-retires them).

        Args:
            articles: The articles.
            chunks: ``Corpus.chunk(articles)``.
            vectors: One embedding per chunk.

        Returns:
            The ids written.
        """
        for article in articles:
            self._drop_rows(article.id)
            self.articles[article.id] = article
            self.retired.discard(article.id)
        rows = list(range(self.next_row, self.next_row + len(chunks)))
        self.next_row += len(chunks)
        self.vectors.add(rows, vectors)
        for row, chunk in zip(rows, chunks, strict=True):
            self.chunks[row] = chunk
            self.rows_of.setdefault(chunk.article_id, []).append(row)
            self.lexical.add(row, chunk.text)
        return [a.id for a in articles]

    def retire(self, article_id: str) -> None:
        """Hide an article from search; it stays in the store (``upsert`` revives it).

        Raises:
            KeyError: unknown id.
        """
        if article_id not in self.articles:
            raise KeyError(f"unknown article {article_id!r}")
        self._drop_rows(article_id)
        self.retired.add(article_id)

    def remove(self, article_id: str) -> None:
        """Delete an article entirely (no error if unknown)."""
        self._drop_rows(article_id)
        self.articles.pop(article_id, None)
        self.retired.discard(article_id)

    def _drop_rows(self, article_id: str) -> None:
        rows = self.rows_of.pop(article_id, [])
        self.vectors.remove(rows)
        for row in rows:
            self.lexical.remove(row)
            self.chunks.pop(row, None)

    def nearest(self, vector: np.ndarray, *, candidates: int = 10) -> tuple[str | None, float]:
        """The article whose chunk is most cosine-similar to ``vector``, and that cosine (``(None, -1.0)`` when empty).

        Stored rows are not all unit-length (a Chinese chunk has no MiniLM block), so the inner products of the
        nearest ``candidates`` are divided by both norms before they are compared.
        """
        scores, ids = self.vectors.search(unit_rows(np.reshape(vector, (1, -1))), candidates)
        found = ids[0] >= 0
        if not found.any():
            return None, -1.0
        rows = ids[0][found]
        norms = np.linalg.norm(self.vectors.reconstruct(rows), axis=1)
        cosines = scores[0][found] / np.where(norms > 0, norms, 1.0)
        best = int(np.argmax(cosines))
        return self.chunks[int(rows[best])].article_id, float(cosines[best])

    def link(self, article_id: str, ticket_id: str) -> None:
        """Record that resolved ticket ``ticket_id`` is answered by ``article_id`` (once)."""
        linked = self.links.setdefault(article_id, [])
        if ticket_id not in linked:
            linked.append(ticket_id)

    # ------------------------------------------------------------------ persistence
    def to_store(self) -> dict[str, Any]:
        """Articles, chunks and links as JSON-ready data (the vectors are saved separately)."""
        return {
            "articles": [asdict(a) for a in self.articles.values()],
            "retired": sorted(self.retired),
            "chunks": {str(row): [c.article_id, c.text, c.snippet, c.position] for row, c in self.chunks.items()},
            "links": self.links,
        }

    @classmethod
    def from_store(cls, store: dict[str, Any], vectors: VectorIndex, *, next_row: int) -> Corpus:
        """Rebuild a corpus from :meth:`to_store` data and its saved vector index (BM25 is rebuilt from text)."""
        corpus = cls(vectors.dim, kind=vectors.kind)
        corpus.vectors = vectors
        for raw in store["articles"]:
            raw["tags"] = tuple(raw.get("tags") or ())
            article = Article(**raw)
            corpus.articles[article.id] = article
        corpus.retired = set(store["retired"])
        for row_text, (article_id, text, snippet, position) in store["chunks"].items():
            row = int(row_text)
            corpus.chunks[row] = Chunk(article_id, text, snippet, position)
            corpus.rows_of.setdefault(article_id, []).append(row)
            corpus.lexical.add(row, text)
        corpus.links = {k: list(v) for k, v in store["links"].items()}
        corpus.next_row = next_row
        return corpus
