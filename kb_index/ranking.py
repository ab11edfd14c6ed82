"""How the knowledge base ranks: query weighting, hybrid fusion of cosine and BM25, and the feedback boost.

Search takes the best chunk per article, so every suggestion is an article and its best chunk gives the snippet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kb_index.corpus import Corpus
from triage.kernel.language import detect_language

MODES = ("hybrid", "semantic", "lexical")
FUSIONS = ("weighted", "rrf")
_RRF_K = 60


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A knowledge-base article suggested to the agent.

    Attributes:
        article_id: Id of the article (not of the chunk that matched).
        score: Relevance in [0, 1]; suggestions are sorted by it, best first.
        title: Article title.
        snippet: The best-matching passage of the article.
        source: ``article`` for imported articles, ``ticket`` for solutions of resolved tickets.
    """

    article_id: str
    score: float
    title: str
    snippet: str
    source: str = "article"


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


class Ranker:
    """Turns retriever hits into ranked suggestions.

    Args:
        config: Ranking settings.
        part_slices: ``(part id, columns)`` of a concatenated encoder's vector (empty for a single encoder).
    """

    def __init__(self, config: SearchConfig, part_slices: Sequence[tuple[str, slice]]) -> None:
        self.config = config
        self.part_slices = list(part_slices)

    def weigh_queries(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Scale each query's encoder parts by the weights of its language (see ``SearchConfig.part_weights_*``)."""
        if not self.part_slices:
            return vectors
        vectors = vectors.copy()
        n_parts = len(self.part_slices)
        for row, text in enumerate(texts):
            chinese = detect_language(text).language == "zh"
            weights = dict(self.config.part_weights_zh if chinese else self.config.part_weights_en)
            for part_id, part in self.part_slices:
                # Stored parts are scaled by 1/sqrt(n); n * w turns their inner product into w * cosine.
                weight = next((w for prefix, w in weights.items() if part_id.startswith(prefix)), 1.0 / n_parts)
                vectors[row, part] *= n_parts * weight
        return vectors

    def rank(
        self,
        text: str,
        vector: np.ndarray | None,
        semantic: tuple[np.ndarray, np.ndarray] | None,
        corpus: Corpus,
        *,
        k: int,
        mode: str,
        n_fetch: int,
        boost: Callable[[str], float],
    ) -> list[Suggestion]:
        """Fuse the semantic hits (``(scores, rows)``) with BM25 over ``corpus``, best article first.

        Args:
            text: The query.
            vector: Its weighted query vector (``None`` in lexical mode).
            semantic: The vector index's top rows and scores for it.
            corpus: Articles, chunks and the lexical index.
            k: Suggestions wanted.
            mode: ``hybrid``, ``semantic`` or ``lexical``.
            n_fetch: Candidates taken from each retriever.
            boost: Feedback score change of an article id.
        """
        cfg = self.config
        cosine: dict[int, float] = {}
        if semantic is not None:
            cosine = {int(i): float(s) for s, i in zip(*semantic, strict=True) if i >= 0}
        lexical: dict[int, float] = {}
        if mode != "semantic":
            lexical = dict(corpus.lexical.top(text, n_fetch))
        if mode == "hybrid" and vector is not None:
            missing = [row for row in lexical if row not in cosine]
            if missing:
                extra = corpus.vectors.reconstruct(missing) @ vector
                cosine.update(zip(missing, extra.tolist(), strict=True))
        rows = set(cosine) | set(lexical)
        if not rows:
            return []
        weight = cfg.semantic_weight_zh if detect_language(text).language == "zh" else cfg.semantic_weight
        if cfg.lexical_norm == "max":
            top_lex = max(lexical.values(), default=0.0) or 1.0
        else:
            top_lex = corpus.lexical.ceiling(text) or 1.0

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
            article_id = corpus.chunks[row].article_id
            score = chunk_score(row)
            if score > best_score.get(article_id, -1.0):
                best_score[article_id], best_row[article_id] = score, row
        if mode == "hybrid" and cfg.fusion == "rrf":
            best_score = _rrf(cosine, lexical, corpus)
        if cfg.feedback_boost:
            for article_id in best_score:
                best_score[article_id] = min(1.0, max(0.0, best_score[article_id] + boost(article_id)))
        ranked = sorted(best_score.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [
            Suggestion(
                article_id=article_id,
                score=round(float(score), 6),
                title=corpus.articles[article_id].title,
                snippet=corpus.chunks[best_row[article_id]].snippet,
                source=corpus.articles[article_id].source,
            )
            for article_id, score in ranked
        ]


def _rrf(cosine: Mapping[int, float], lexical: Mapping[int, float], corpus: Corpus) -> dict[str, float]:
    fused: dict[str, float] = {}
    for scores in (cosine, lexical):
        per_article: dict[str, float] = {}
        for row, score in scores.items():
            article_id = corpus.chunks[row].article_id
            per_article[article_id] = max(per_article.get(article_id, -np.inf), score)
        ranking = sorted(per_article, key=lambda a: -per_article[a])
        for rank, article_id in enumerate(ranking, start=1):
            fused[article_id] = fused.get(article_id, 0.0) + 1.0 / (_RRF_K + rank)
    # Scaled to [0, 1]: rank 1 in both lists scores 1.
    return {a: s / (2.0 / (_RRF_K + 1)) for a, s in fused.items()}
