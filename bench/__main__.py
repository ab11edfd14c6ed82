"""Benchmarks. ``python -m bench`` runs every one and prints its tables (about half an hour on 2 cores);
``python -m bench NAME [OPTIONS]`` runs one:

* ``triage``: the serving engine per encoder backend and runtime (``--json``: one JSON object, the README's table);
* ``encoders``: MiniLM alone per runtime, threads, batch size and length cap, and its agreement with torch;
* ``kb``: knowledge-base index build, search latency and freshness;
* ``classify``: batch ``triage classify`` rows/s, single process and on a local Dask cluster of 1 and 2 workers;
* ``service``: ``triage serve`` under a 200-ticket burst (SQLite, and PostgreSQL when ``TRIAGE_BENCH_POSTGRES_URL`` is
  set), micro-batched against per-request triage, and an angry ticket's alert latency (SSE and webhook);
* ``console``: the web console's page render times with 2,000 tickets.

``python -m bench NAME --help`` lists each one's options.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = {
    "triage": "bench.bench_triage",
    "encoders": "bench.bench_encoders",
    "kb": "bench.bench_kb",
    "classify": "bench.bench_classify",
    "service": "bench.bench_service",
    "console": "bench.bench_console",
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        return int(importlib.import_module(BENCHMARKS[argv[0]]).main(argv[1:]) or 0)
    if argv:
        print(__doc__, file=sys.stderr)
        print(f"unknown benchmark {argv[0]!r}; choose one of: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name, module in BENCHMARKS.items():
        print(f"## {name}", flush=True)
        subprocess.run([sys.executable, "-m", module], cwd=REPO, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
