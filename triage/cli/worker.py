"""``triage worker``: background workers without the API (triage, escalations, knowledge base), for scaling out;
with ``--smtp-port``, also the email channel's SMTP listener."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from triage.adapters.bootstrap import build_service, load_pipeline
from triage.cli import tcp_port
from triage.config import export_settings, get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``worker`` options."""
    parser.add_argument("--threads", type=int, default=None, help="triage threads (default: TRIAGE_WORKER_THREADS)")
    parser.add_argument("--smtp-port", type=tcp_port, default=None, metavar="PORT",
                        help="also take email in on this port (not started from TRIAGE_SMTP_PORT here, so a worker "
                             "beside `serve` on one host does not compete for its port)")  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        export_settings(worker_threads=max(1, args.threads))
    settings = get_settings()
    service = build_service(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if args.smtp_port is not None:
            service.start_mail(port=args.smtp_port)
            print(f"taking email for @{settings.smtp_domain} on {settings.smtp_host}:{args.smtp_port} (SMTP)",
                  file=sys.stderr, flush=True)  # fmt: skip
        service.start_background(load_pipeline(settings, service.desk))
    except BaseException:
        service.stop()
        raise
    print(f"worker running ({settings.worker_threads} triage threads); Ctrl-C to stop", file=sys.stderr, flush=True)
    stop.wait()
    service.stop()
    return 0
