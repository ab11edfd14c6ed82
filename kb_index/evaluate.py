"""Retrieval metrics for the knowledge base: recall@k, MRR and NDCG@k over a queries file."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from triage.kernel.errors import InvalidDataset


def load_queries(path: str | Path) -> dict[str, set[str]]:
    """Read a queries CSV with columns ``query,article_id``; a query may list several relevant articles.

    Raises:
        InvalidDataset: missing file or columns, or no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidDataset(f"queries file {path} does not exist; pass a CSV with columns query,article_id")
    relevant: dict[str, set[str]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("query", "article_id") if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidDataset(f"{path}: missing column(s) {', '.join(missing)}; expected query,article_id")
        for row in reader:
            query, article_id = (row["query"] or "").strip(), (row["article_id"] or "").strip()
            if query and article_id:
                relevant.setdefault(query, set()).add(article_id)
    if not relevant:
        raise InvalidDataset(f"{path}: no (query, article_id) rows")
    return relevant


def retrieval_metrics(
    rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]], *, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Mean recall@k (share of a query's relevant articles in its top k), MRR and NDCG@10.

    Args:
        rankings: Ranked article ids per query.
        relevant: Relevant article ids per query.
        ks: Cut-offs for recall.
    """
    if len(rankings) != len(relevant):
        raise ValueError("rankings and relevant differ in length")
    n = len(rankings)
    out: dict[str, float] = {"n": float(n)}
    if not n:
        return out
    pairs = list(zip(rankings, relevant, strict=True))
    for k in ks:
        out[f"recall_at_{k}"] = sum(len(set(r[:k]) & rel) / len(rel) for r, rel in pairs) / n
    out["mrr"] = sum(_reciprocal_rank(r, rel) for r, rel in pairs) / n
    out["ndcg_at_10"] = sum(_ndcg(r, rel, 10) for r, rel in pairs) / n
    return out


def _reciprocal_rank(ranking: Sequence[str], relevant: set[str]) -> float:
    for rank, article_id in enumerate(ranking, start=1):
        if article_id in relevant:
            return 1.0 / rank
    return 0.0


def _ndcg(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, a in enumerate(ranking[:k]) if a in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def duplicate_metrics(scores: Sequence[float], labels: Sequence[int], threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of ``score >= threshold`` as the duplicate flag."""
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= threshold and y)
    fp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= threshold and not y)
    fn = sum(1 for s, y in zip(scores, labels, strict=True) if s < threshold and y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": precision, "recall": recall, "f1": f1, "n": float(len(labels))}


def best_threshold(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The threshold (on a 0.01 grid) with the best F1 of the duplicate flag."""
    grid = [i / 100 for i in range(0, 101)]
    return max(grid, key=lambda t: (duplicate_metrics(scores, labels, t)["f1"], t))
