"""Batch ``triage classify`` throughput: rows/s on a local Dask cluster of 1 and 2 workers (and, with
``--single``, the single-process command), on the default engine.

Run: ``.venv/bin/python -m bench classify [--rows 100000] [--workers 1,2] [--single] [--json]``. On 2 cores,
100,000 rows take about 10 minutes per configuration.

The rows repeat the demo tickets with distinct ids, and each body ends with its own reference number
(``ref #000123``), so every text is distinct and the encoding memo cannot short-circuit a repeat: every row
is really encoded. They are written as 20 Parquet files of 2 row groups each (40 partitions). The heads and
the knowledge base are trained on the demo tickets first (not timed); each configuration is then one
``triage classify`` command in a fresh process, timed from start to exit (cluster start and model loading
included, so rows/s is what a user gets).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.bench_triage import BY_NAME, prepare
from triage.config import Settings, configure_offline_environment

REPO = Path(__file__).resolve().parents[1]
TICKETS = REPO / "demo" / "tickets.csv"
FILES = 20


def write_rows(folder: Path, rows: int) -> Path:
    """``rows`` demo tickets with distinct ids and texts, as FILES Parquet files of two row groups each."""
    demo = pd.read_csv(TICKETS, dtype=str, keep_default_na=False)
    frame = demo.iloc[[i % len(demo) for i in range(rows)]].reset_index(drop=True)
    frame["ticket_id"] = [f"B{i:07d}" for i in range(rows)]
    frame["body"] = frame["body"] + [f" ref #{i:06d}" for i in range(rows)]
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-rows // FILES)
    for part in range(FILES):
        chunk = frame.iloc[part * per_file : (part + 1) * per_file]
        if len(chunk):
            chunk.to_parquet(folder / f"tickets-{part:02d}.parquet", index=False, row_group_size=-(-len(chunk) // 2))
    single = folder.with_name("tickets.parquet")
    frame.to_parquet(single, index=False)
    return single


def _classify(args: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "triage.cli.main", "classify", *args, "--quiet"], cwd=REPO,
                          env=environment, capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"classify {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench classify", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="local cluster sizes to measure")
    parser.add_argument("--single", action="store_true", help="also the single-process command on one file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    configure_offline_environment()
    backend = next(
        b
        for b in BY_NAME.values()
        if b.encoder == "minilm+use"
        and b.language_aware
        and b.threads is None
        and b.runtime == Settings.model_fields["encoder_runtime"].default
    )  # the default engine
    cache = Settings().resolved_encoder_cache_dir.resolve()
    results = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-classify-") as scratch:
        home = Path(scratch) / "home"
        print("[bench] training heads on demo tickets...", file=sys.stderr, flush=True)
        prepare(backend, home, cache)
        single = write_rows(Path(scratch) / "in", args.rows)
        environment = {**os.environ, "TRIAGE_HOME": str(home), "TRIAGE_ENCODER_CACHE_DIR": str(cache),
                       "TRIAGE_KB_DIR": str(home / "kb"),
                       **{f"TRIAGE_{task.upper()}_MODEL": str(home / task) for task in ("category", "urgency", "sentiment")}}  # fmt: skip
        runs = [(f"local:{n}", ["--in", str(Path(scratch) / "in"), "--out", str(Path(scratch) / f"out-{n}"),
                                "--cluster", f"local:{n}"]) for n in args.workers.split(",")]  # fmt: skip
        if args.single:
            runs.insert(0, ("single process", ["--in", str(single), "--out", str(Path(scratch) / "single.parquet")]))
        for name, command in runs:
            print(f"[bench] classify {args.rows} rows, {name}...", file=sys.stderr, flush=True)
            seconds = _classify(command, environment)
            results.append({"run": name, "rows": args.rows, "seconds": round(seconds, 1),
                            "rows_per_s": round(args.rows / seconds, 1)})  # fmt: skip
            print(f"[bench] {results[-1]}", file=sys.stderr, flush=True)
    report = {"benchmark": "classify", "engine": backend.name, "cores": os.cpu_count(), "results": results,
              "load_average": {"start": [round(x, 2) for x in load], "end": [round(x, 2) for x in os.getloadavg()]}}  # fmt: skip
    if args.json:
        print(json.dumps(report))
        return 0
    print("| run | rows | seconds | rows/s |\n|---|---|---|---|")
    for r in results:
        print(f"| {r['run']} | {r['rows']} | {r['seconds']} | {r['rows_per_s']} |")
    print(f"load average {report['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
