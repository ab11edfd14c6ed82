"""Triage throughput, latency, start-up time and peak RSS for each encoder backend.

Run: ``.venv/bin/python -m bench.bench_triage`` (about 3-5 minutes on 2 cores).

For every backend, a first subprocess trains the three heads on the demo tickets and saves them;
a second, fresh subprocess measures serving only: start-up (load encoder + heads + knowledge base),
tickets/s at batch sizes 1, 8 and 32, single-ticket latency p50/p99, and its peak RSS. Every
measurement uses tickets the process has not seen, so each is really encoded once (the memo only
shares that encoding between the stages, as in production).

The project's modules are imported inside ``prepare`` and ``measure`` on purpose: start-up time counts the
imports of serving, so they must happen after the clock starts, in the process that is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TICKETS = REPO / "demo" / "tickets.csv"
ARTICLES = REPO / "demo" / "kb"
BACKENDS = ("minilm", "use", "minilm+use")
BATCH_SIZES = (1, 8, 32)
N_TICKETS = 128
N_LATENCY = 200


def _texts() -> list[str]:
    frame = pd.read_csv(TICKETS, dtype=str, keep_default_na=False)
    return list(dict.fromkeys((frame["subject"] + "\n" + frame["body"]).tolist()))  # distinct texts only


def prepare(backend: str, folder: Path) -> None:
    """Train the three heads for ``backend`` on the demo tickets and save them (not timed)."""
    from kb_index.documents import load_articles
    from kb_index.knowledge_base import KnowledgeBase
    from models.encoder import MemoizedEncoder, load_encoder
    from models.loading import save_artifact
    from training.data import load_labelled
    from training.train import fit_artifact, load_training_config

    encoder = MemoizedEncoder(load_encoder(backend), max_size=10_000)
    for task in ("category", "urgency", "sentiment"):
        data = load_labelled(TICKETS, text_col="subject,body", label_col=task)
        params = {k: v for k, v in load_training_config(task).items() if not isinstance(v, dict)}
        artifact = fit_artifact(task=task, train=data, encoder=encoder, params=params, progress=False)
        save_artifact(artifact, folder / task)
    if ARTICLES.exists():
        KnowledgeBase.build(load_articles(ARTICLES), encoder).save(folder / "kb")


def measure(backend: str, folder: Path) -> dict[str, object]:
    """Serving-only measurements in a fresh process."""
    started = time.perf_counter()
    from triage.config import Settings
    from triage.engine.factory import build_pipeline

    settings = Settings(
        home=folder, encoder=backend, category_model=str(folder / "category"), urgency_model=str(folder / "urgency"),
        sentiment_model=str(folder / "sentiment"), kb_dir=folder / "kb",
    )  # fmt: skip
    pipeline = build_pipeline(settings)
    startup = time.perf_counter() - started
    texts = _texts()
    pipeline.batch(texts[:8])  # warm-up: first-call allocations are not steady state
    throughput = {}
    for round_, size in enumerate(BATCH_SIZES):
        chunk = texts[8 + round_ * N_TICKETS : 8 + (round_ + 1) * N_TICKETS]
        begin = time.perf_counter()
        for i in range(0, len(chunk), size):
            pipeline.batch(chunk[i : i + size])
        throughput[size] = len(chunk) / (time.perf_counter() - begin)
    latencies = []
    start = 8 + len(BATCH_SIZES) * N_TICKETS
    for text in texts[start : start + N_LATENCY]:
        begin = time.perf_counter()
        pipeline(text)
        latencies.append((time.perf_counter() - begin) * 1000)
    return {
        "backend": backend,
        "startup_s": round(startup, 2),
        **{f"tickets_per_s_b{size}": round(rate, 1) for size, rate in throughput.items()},
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "kb": (folder / "kb").exists(),
    }


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bench.bench_triage", *args], cwd=REPO, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prepare", nargs=2, metavar=("BACKEND", "DIR"))
    parser.add_argument("--measure", nargs=2, metavar=("BACKEND", "DIR"))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any import of the project (see the module docstring)
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if args.prepare:
        prepare(args.prepare[0], Path(args.prepare[1]))
        return
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return
    rows = []
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-triage-") as folder:
            print(f"[bench] {backend}: training heads on demo tickets...", file=sys.stderr, flush=True)
            _run("--prepare", backend, folder)
            print(f"[bench] {backend}: measuring serving...", file=sys.stderr, flush=True)
            rows.append(json.loads(_run("--measure", backend, folder).strip().splitlines()[-1]))
    header = ("backend", "start-up s", "tickets/s b=1", "b=8", "b=32", "p50 ms", "p99 ms", "peak RSS MB", "KB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = (r["backend"], r["startup_s"], r["tickets_per_s_b1"], r["tickets_per_s_b8"], r["tickets_per_s_b32"],
                 r["p50_ms"], r["p99_ms"], r["peak_rss_mb"], "yes" if r["kb"] else "no")  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
