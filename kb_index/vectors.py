"""FAISS vector index with stable ids, incremental updates and atomic, versioned saving.

* Up to :data:`HNSW_THRESHOLD` vectors the index is exact (``IndexFlatIP``): a 50k x 896 float32
  scan is ~180 MB and a few ms per query. Beyond it, ``IndexHNSWFlat`` (inner product, M=32)
  keeps queries sub-millisecond at the cost of approximate recall.
* Ids are stable int64s (``IndexIDMap2``). The flat index removes ids for real. HNSW cannot remove,
  so removed ids go to a *tombstone* set that search filters (it over-fetches by the number of
  tombstones); :meth:`VectorIndex.compact` rebuilds the graph without them, and the knowledge base compacts
  before saving once tombstones exceed :data:`COMPACT_RATIO` of the index.
"""

from __future__ import annotations

from collections.abc import Iterable

import faiss
import numpy as np

#: Vectors above which a new index is built as HNSW rather than exact flat.
HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
#: Share of tombstoned ids above which saving compacts an HNSW index.
COMPACT_RATIO = 0.1


def set_search_threads(threads: int) -> None:
    """OpenMP threads of FAISS, process-wide (FAISS has no per-index setting).

    Serving searches one ticket or a small batch at a time, where extra OpenMP threads cost more than they
    save: they spin-wait between searches, which halved the engine's single-ticket throughput on 2 cores
    (bench/bench_triage.py), and a single query on a 10k flat index is 2.9 ms on 1 thread vs 8.7 ms on 2.
    """
    faiss.omp_set_num_threads(threads)


class VectorIndex:
    """Inner-product search over unit vectors, addressed by stable int64 ids.

    Args:
        dim: Vector dimension.
        kind: ``flat`` (exact) or ``hnsw`` (approximate).
    """

    def __init__(self, dim: int, *, kind: str = "flat") -> None:
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown index kind {kind!r}; use flat or hnsw")
        self.dim = dim
        self.kind = kind
        self.index = _new_index(dim, kind)
        self.tombstones: set[int] = set()

    @staticmethod
    def kind_for(size: int) -> str:
        """The index kind chosen for ``size`` vectors."""
        return "hnsw" if size > HNSW_THRESHOLD else "flat"

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.tombstones)

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add vectors under new ids (an id must not be live already)."""
        ids_array = np.asarray(list(ids), dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids_array) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        if len(ids_array):
            self.index.add_with_ids(vectors, ids_array)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove ids: for real in a flat index, as tombstones in HNSW."""
        ids_array = np.asarray(list(ids), dtype=np.int64)
        if not len(ids_array):
            return
        if self.kind == "flat":
            self.index.remove_ids(ids_array)
        else:
            self.tombstones.update(int(i) for i in ids_array)

    def reconstruct(self, ids: Iterable[int]) -> np.ndarray:
        """Stored vectors of ``ids``, shape ``(len(ids), dim)``."""
        ids_list = [int(i) for i in ids]
        if not ids_list:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.index.reconstruct(i) for i in ids_list]).astype(np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, ids)`` per query row; missing hits have id -1 and score -inf."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        n_queries = len(queries)
        if self.index.ntotal == 0 or k <= 0:
            return np.full((n_queries, max(k, 0)), -np.inf, np.float32), np.full((n_queries, max(k, 0)), -1, np.int64)
        fetch = min(int(self.index.ntotal), k + len(self.tombstones))
        scores, ids = self.index.search(queries, fetch)
        if self.tombstones:
            dead = np.isin(ids, np.fromiter(self.tombstones, np.int64))
            ids = np.where(dead, -1, ids)
            scores = np.where(dead, -np.inf, scores)
            order = np.argsort(-scores, axis=1, kind="stable")
            scores = np.take_along_axis(scores, order, axis=1)
            ids = np.take_along_axis(ids, order, axis=1)
        scores, ids = scores[:, :k], ids[:, :k]
        scores = np.where(ids < 0, -np.inf, scores)
        if scores.shape[1] < k:
            pad = k - scores.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        return scores.astype(np.float32), ids.astype(np.int64)

    def needs_compaction(self) -> bool:
        """Whether tombstones exceed :data:`COMPACT_RATIO` of the live vectors."""
        return self.kind == "hnsw" and len(self.tombstones) > COMPACT_RATIO * max(1, len(self))

    def compact(self) -> None:
        """Rebuild without tombstoned ids (HNSW); a no-op when there are none."""
        if not self.tombstones:
            return
        all_ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        live = np.array([i for i in all_ids if int(i) not in self.tombstones], dtype=np.int64)
        vectors = self.reconstruct(live)
        self.index = _new_index(self.dim, self.kind)
        self.tombstones = set()
        self.add(live, vectors)

    def to_bytes(self) -> bytes:
        return bytes(faiss.serialize_index(self.index))

    @classmethod
    def from_bytes(cls, data: bytes, *, dim: int, kind: str, tombstones: Iterable[int] = ()) -> VectorIndex:
        index = cls.__new__(cls)
        index.dim = dim
        index.kind = kind
        index.index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        if kind == "hnsw":
            faiss.downcast_index(index.index.index).hnsw.efSearch = HNSW_EF_SEARCH
        index.tombstones = {int(t) for t in tombstones}
        return index


def _new_index(dim: int, kind: str) -> faiss.IndexIDMap2:
    if kind == "flat":
        inner = faiss.IndexFlatIP(dim)
    else:
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    return faiss.IndexIDMap2(inner)
