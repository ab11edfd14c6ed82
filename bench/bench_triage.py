"""Triage throughput, latency, start-up time and peak RSS per encoder backend and MiniLM runtime.

Run: ``.venv/bin/python -m bench triage`` (a Markdown table) or ``python -m bench triage --json`` (one JSON
object: a ``backends`` list with ``name``, ``default``, ``baseline``, ``tickets_per_s`` at batch sizes "1", "8"
and "32", ``p50_ms``, ``p99_ms``, ``startup_s`` and ``peak_rss_mb``). About 4 minutes on 2 cores.

For every backend, a first subprocess trains the three heads on the demo tickets and saves them with a
knowledge base; a second, fresh subprocess measures serving only: start-up (imports, encoder, heads and
knowledge base), tickets/s at batch sizes 1, 8 and 32, single-ticket latency p50/p99, and its peak RSS. Every
measurement uses tickets the process has not seen, so each is really encoded once (the memo only shares that
encoding between the stages, as in production). The demo tickets are half Chinese, half English.

The **baseline** is the engine as it was before language-aware encoding, ONNX Runtime and thread tuning:
MiniLM+USE with MiniLM on torch fp32, run on every text, every model on all cores. It is measured in the same
run as the others, so the speed-up compares like with like on whatever load the machine had. The row
``.../<n>-threads`` is the default engine with every model on all cores, to show what the one-thread default
costs or saves on the machine at hand. The ONNX export is made once, before any
measurement (it is set-up, not start-up).

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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TICKETS = REPO / "demo" / "tickets.csv"
BATCH_SIZES = (1, 8, 32)
N_TICKETS = 128
N_LATENCY = 200


@dataclass(frozen=True)
class Backend:
    """One serving configuration: encoder backend, MiniLM runtime, threads per model (None: the default), and
    whether encoding is language-aware."""

    name: str
    encoder: str
    runtime: str
    threads: int | None = None
    language_aware: bool = True
    baseline: bool = False


#: Threads the engine used before this tuning: every core (torch, USE's BLAS and FAISS all defaulted to it).
ALL_CORES = len(os.sched_getaffinity(0))
BACKENDS = (
    Backend(
        "minilm+use/torch-fp32/every-text",
        "minilm+use",
        "torch",
        threads=ALL_CORES,
        language_aware=False,
        baseline=True,
    ),  # fmt: skip
    Backend("minilm+use/torch-fp32", "minilm+use", "torch"),
    Backend("minilm+use/onnx-fp32", "minilm+use", "onnx-fp32"),
    Backend("minilm+use/onnx-int8", "minilm+use", "onnx-int8"),
    Backend(f"minilm+use/onnx-int8/{ALL_CORES}-threads", "minilm+use", "onnx-int8", threads=ALL_CORES),
    Backend("minilm/onnx-int8", "minilm", "onnx-int8"),
    Backend("use", "use", "onnx-int8"),
)
BY_NAME = {backend.name: backend for backend in BACKENDS}


def _texts() -> list[str]:
    frame = pd.read_csv(TICKETS, dtype=str, keep_default_na=False)
    return list(dict.fromkeys((frame["subject"] + "\n" + frame["body"]).tolist()))  # distinct texts only


def _settings(backend: Backend, folder: Path, cache: Path):  # noqa: ANN202 - Settings is imported late on purpose
    from triage.config import Settings

    threads = {} if backend.threads is None else {"threads": backend.threads}
    return Settings(
        home=folder, encoder=backend.encoder, encoder_runtime=backend.runtime, encoder_cache_dir=cache, **threads,
        category_model=str(folder / "category"), urgency_model=str(folder / "urgency"),
        sentiment_model=str(folder / "sentiment"), kb_dir=folder / "kb",
    )  # fmt: skip


def _encoder(backend: Backend, settings):  # noqa: ANN001, ANN202
    """The backend's encoder; the baseline's runs MiniLM on every text, as before language-aware encoding."""
    from models.encoder import ConcatEncoder, USEEncoder, load_minilm
    from triage.engine.factory import load_configured_encoder

    if backend.language_aware:
        return load_configured_encoder(settings)
    encoder = ConcatEncoder([load_minilm(runtime=backend.runtime, cache_dir=settings.resolved_encoder_cache_dir,
                                         threads=settings.threads), USEEncoder.load(threads=settings.threads)])  # fmt: skip
    encoder.id += "/every-text"  # its layout differs: never mistaken for the language-aware encoder
    return encoder


def prepare(backend: Backend, folder: Path, cache: Path) -> None:
    """Train the three heads for ``backend`` on the demo tickets and save them with a KB (not timed)."""
    from bench.harness import prepare_models  # deferred: measure() times a fresh process's imports

    prepare_models(folder, encoder_name=backend.encoder, encoder=_encoder(backend, _settings(backend, folder, cache)))


def measure(backend: Backend, folder: Path, cache: Path) -> dict[str, object]:
    """Serving-only measurements in a fresh process."""
    started = time.perf_counter()
    from triage.engine.factory import build_pipeline

    settings = _settings(backend, folder, cache)
    pipeline = build_pipeline(settings, encoder=_encoder(backend, settings))
    startup = time.perf_counter() - started
    texts = _texts()
    pipeline.batch(texts[:8])  # warm-up: first-call allocations are not steady state
    throughput = {}
    for round_, size in enumerate(BATCH_SIZES):
        chunk = texts[8 + round_ * N_TICKETS : 8 + (round_ + 1) * N_TICKETS]
        begin = time.perf_counter()
        for i in range(0, len(chunk), size):
            pipeline.batch(chunk[i : i + size])
        throughput[str(size)] = round(len(chunk) / (time.perf_counter() - begin), 1)
    latencies = []
    start = 8 + len(BATCH_SIZES) * N_TICKETS
    for text in texts[start : start + N_LATENCY]:
        begin = time.perf_counter()
        pipeline(text)
        latencies.append((time.perf_counter() - begin) * 1000)
    return {
        **asdict(backend),
        "tickets_per_s": throughput,
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "startup_s": round(startup, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "encoder_id": pipeline.encoder.id,
        "kb": pipeline.suggest is not None,
    }


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bench.bench_triage", *args], cwd=REPO, capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"bench_triage {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _default_backend() -> tuple[str, str]:
    from triage.config import Settings

    fields = Settings.model_fields
    return fields["encoder"].default, fields["encoder_runtime"].default


def run(names: list[str], cache: Path) -> dict[str, object]:
    """Prepare and measure each backend; one JSON-ready report."""
    load_start = os.getloadavg()
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="bench-triage-") as folder:
            print(f"[bench] {name}: training heads on demo tickets...", file=sys.stderr, flush=True)
            _run("--prepare", name, folder, str(cache))
            print(f"[bench] {name}: measuring serving...", file=sys.stderr, flush=True)
            rows.append(json.loads(_run("--measure", name, folder, str(cache)).strip().splitlines()[-1]))
    encoder, runtime = _default_backend()
    for row in rows:
        row["default"] = row["language_aware"] and row["threads"] is None and (row["encoder"], row["runtime"]) == (
            encoder, runtime)  # fmt: skip
    baseline = next((r for r in rows if r["baseline"]), None)
    default = next((r for r in rows if r["default"]), None)
    report: dict[str, object] = {
        "benchmark": "triage",
        "machine": {
            "cores": os.cpu_count(),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },  # fmt: skip
        "tickets": {"source": str(TICKETS.relative_to(REPO)), "per_batch_size": N_TICKETS, "latency": N_LATENCY},
        "backends": rows,
    }
    if baseline and default:
        report["default_vs_baseline_b32"] = round(default["tickets_per_s"]["32"] / baseline["tickets_per_s"]["32"], 2)
    return report


def table(report: dict[str, object]) -> str:
    """The Markdown table of the README."""
    header = ("backend", "start-up s", "tickets/s b=1", "b=8", "b=32", "p50 ms", "p99 ms", "peak RSS MB")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in report["backends"]:
        tag = " (default)" if r["default"] else " (baseline)" if r["baseline"] else ""
        speed = r["tickets_per_s"]
        cells = (f"{r['name']}{tag}", r["startup_s"], speed["1"], speed["8"], speed["32"], r["p50_ms"], r["p99_ms"],
                 r["peak_rss_mb"])  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if "default_vs_baseline_b32" in report:
        lines.append(f"\ndefault vs baseline at batch 32: {report['default_vs_baseline_b32']}x; "
                     f"load average {report['machine']['load_average_start']} -> {report['machine']['load_average_end']}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench triage", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--backends", default=",".join(BY_NAME), help=f"comma-separated, of: {', '.join(BY_NAME)}")
    parser.add_argument("--prepare", nargs=3, metavar=("BACKEND", "DIR", "CACHE"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=3, metavar=("BACKEND", "DIR", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any import of the project (see the module docstring)
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.prepare:
        prepare(BY_NAME[args.prepare[0]], Path(args.prepare[1]), Path(args.prepare[2]))
        return 0
    if args.measure:
        print(json.dumps(measure(BY_NAME[args.measure[0]], Path(args.measure[1]), Path(args.measure[2]))))
        return 0
    names = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        parser.error(f"unknown backends {unknown}; choose from {', '.join(BY_NAME)}")
    from triage.config import Settings

    cache = Settings().resolved_encoder_cache_dir.resolve()  # the export is set-up: made once, reused by every run
    report = run(names, cache)
    print(json.dumps(report) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
