"""``triage worker``: background workers without the API (triage, escalations, knowledge base), for scaling out."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from triage.adapters.bootstrap import build_service, load_pipeline
from triage.config import export_settings, get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``worker`` options."""
    parser.add_argument("--threads", type=int, default=None, help="triage threads (default: TRIAGE_WORKER_THREADS)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        export_settings(worker_threads=max(1, args.threads))
    settings = get_settings()
    service = build_service(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    service.start_background(load_pipeline(settings, service.desk))
    print(f"worker running ({settings.worker_threads} triage threads); Ctrl-C to stop", file=sys.stderr, flush=True)
    stop.wait()
    service.stop()
    return 0
