"""Knowledge-base speed bench: one command, one table.

    .venv/bin/python bench/bench_kb.py                 # 10k and 200k, flat and HNSW, dim 896
    .venv/bin/python bench/bench_kb.py --sizes 10000 --dim 384

For each (size, kind) a fresh subprocess builds a :class:`kb_index.index.VectorIndex` from random
unit vectors (the encoder's cost is not part of index speed) and reports build time, peak RSS of
that process, single-query latency p50/p99, batched (32 queries) latency per query p50/p99, and
1-recall@10 (the exact nearest neighbour is among the 10 returned). A last row measures *freshness* on a 10k-article
:class:`~kb_index.knowledge_base.KnowledgeBase`: ``add_solution`` until the solution is the top hit
(hash encoder, so this is index + BM25 time; add the encoder's per-text latency, ~10-30 ms for
MiniLM+USE on CPU, for the end-to-end figure, measured with ``--real-encoder``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from kb_index.documents import Article
from kb_index.knowledge_base import KnowledgeBase
from kb_index.vectors import VectorIndex
from triage.config import Settings, configure_offline_environment
from triage.engine.factory import load_configured_encoder

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 50_000):  # chunked to keep the float64 temporaries small
        block = rng.standard_normal((min(50_000, n - start), dim)).astype(np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def run_one(size: int, kind: str, dim: int, queries: int) -> dict[str, object]:
    faiss.omp_set_num_threads(2)
    rng = np.random.default_rng(0)
    base = _unit(rng, size, dim)
    # Queries near stored vectors, as real queries are near their answers.
    picks = rng.integers(0, size, queries)
    probe = base[picks] + 0.5 * _unit(rng, queries, dim)
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    started = time.perf_counter()
    index = VectorIndex(dim, kind=kind)
    index.add(np.arange(size), base)
    build_s = time.perf_counter() - started
    # One OpenMP thread for single queries: with 2 threads the spin-up costs more than the scan
    # (10k x 896 flat: p50 8.7 ms with 2 threads, 2.9 ms with 1); a server runs queries concurrently anyway.
    faiss.omp_set_num_threads(1)
    single = []
    for row in probe:
        t = time.perf_counter()
        index.search(row[None, :], 10)
        single.append((time.perf_counter() - t) * 1000)
    faiss.omp_set_num_threads(2)
    batched = []
    for start in range(0, queries, 32):
        chunk = probe[start : start + 32]
        t = time.perf_counter()
        _, ids = index.search(chunk, 10)
        batched.append((time.perf_counter() - t) * 1000 / len(chunk))
    _, got = index.search(probe, 10)
    # 1-recall@10: is the exact nearest neighbour among the 10 returned? (Ranks 2-10 of random vectors
    # are near-ties of noise, so full recall@10 would measure nothing a user sees.)
    exact = np.argmax(probe @ base.T, axis=1)
    recall = float(np.mean([e in g for g, e in zip(got, exact, strict=True)]))
    p50, p99 = _percentiles(single)
    b50, b99 = _percentiles(batched)
    return {
        "entries": size, "kind": kind, "dim": dim, "build_s": round(build_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "single_p50_ms": round(p50, 3), "single_p99_ms": round(p99, 3),
        "batch32_p50_ms_per_query": round(b50, 3), "batch32_p99_ms_per_query": round(b99, 3),
        "recall_1_at_10": round(recall, 4),
    }  # fmt: skip


class _HashEncoder:
    """Bag of hashed words, 384-d: deterministic and fast, for the freshness row."""

    id = "bench:hash"
    dim = 384

    def encode(self, texts, *, show_progress: bool = False) -> np.ndarray:  # noqa: ANN001
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 20) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def run_freshness(size: int, real_encoder: bool) -> dict[str, object]:
    rng = np.random.default_rng(1)
    vocabulary = [f"w{i}" for i in range(5000)]
    articles = [
        Article(f"a{i}", " ".join(rng.choice(vocabulary, 6)), " ".join(rng.choice(vocabulary, 60))) for i in range(size)
    ]
    encoder = _HashEncoder()
    started = time.perf_counter()
    kb = KnowledgeBase.build(articles, encoder)
    build_s = time.perf_counter() - started
    if real_encoder:
        configure_offline_environment()
        real = load_configured_encoder(Settings(), name="minilm+use")
        real.encode(["warm up"])
    latencies = []
    for i in range(20):
        text = f"Error ZX-{i:04d} on the billing page: clear the cache and retry"
        t = time.perf_counter()
        if real_encoder:
            real.encode([text])
        result = kb.add_solution(ticket_id=f"F{i}", title=f"ZX-{i:04d}", solution=text)
        found = kb.search(f"ZX-{i:04d} billing page", k=1)[0].article_id == result.article_id
        latencies.append((time.perf_counter() - t) * 1000)
        assert found, "fresh solution not found"
    p50, p99 = _percentiles(latencies)
    return {
        "entries": size, "kind": "kb-freshness", "dim": encoder.dim, "build_s": round(build_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "single_p50_ms": round(p50, 3), "single_p99_ms": round(p99, 3),
        "batch32_p50_ms_per_query": "", "batch32_p99_ms_per_query": "",
        "recall_1_at_10": "incl. encoder" if real_encoder else "index+bm25",
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="knowledge-base speed bench")
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--kinds", default="flat,hnsw")
    parser.add_argument("--dim", type=int, default=896, help="896 = MiniLM+USE")
    parser.add_argument("--queries", type=int, default=320)
    parser.add_argument("--real-encoder", action="store_true", help="include real encoding in the freshness row")
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--freshness", type=int, metavar="SIZE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], args.dim, args.queries)))
        return 0
    if args.freshness:
        print(json.dumps(run_freshness(args.freshness, args.real_encoder)))
        return 0
    rows = []
    jobs = [["--one", size, kind] for size in args.sizes.split(",") for kind in args.kinds.split(",")]
    jobs.append(["--freshness", "10000"] + (["--real-encoder"] if args.real_encoder else []))
    for job in jobs:
        command = [sys.executable, __file__, *job, "--dim", str(args.dim), "--queries", str(args.queries)]
        print("running", " ".join(job), file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
