"""Run every benchmark and print their tables: ``python -m bench`` (about 20 minutes on 2 cores)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    for module in ("bench.bench_triage", "bench.bench_kb"):
        print(f"## {module}", flush=True)
        subprocess.run([sys.executable, "-m", module], cwd=REPO, check=True)
