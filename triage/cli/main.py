"""Entry point of the ``triage`` console script.

Each sub-command lives in ``triage.cli.<name>`` and exposes ``configure(parser)``, which adds its options and sets
``handler``: a function ``(args) -> int`` returning the exit code. Errors of the triage hierarchy become one clear
line on stderr and exit code 2, never a traceback.

Only the module of the command being run is imported: the modules import torch, MLflow and the web stack at their
top, and importing all of them would make ``triage --help`` take ~10 s instead of a fraction of one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from triage.config import configure_offline_environment
from triage.kernel.errors import TriageError

#: Sub-commands and their one-line help, in the order ``--help`` lists them.
COMMANDS: dict[str, str] = {
    "train": "train a category, urgency or sentiment head on a labelled CSV/Parquet file",
    "evaluate": "evaluate a model on a labelled file (JSON on stdout)",
    "classify": "batch-triage a CSV/Parquet file into a new file",
    "demo": "set up the embedded defaults (models, KB) on demo data and triage sample tickets",
    "kb": "knowledge base: build, add, search, evaluate",
    "simulate": "simulate the help desk: routing policies, SLA attainment, utilisation, staffing what-ifs",
    "serve": "run the HTTP API and the background workers",
    "worker": "run the background workers alone (scale-out)",
    "db": "database schema: upgrade, status",
    "keys": "API keys: create, list, revoke",
    "users": "console users (web sign-in): create, list, set-password, disable",
    "webhooks": "webhooks: add, list, deliveries, redeliver, remove",
    "export-corrections": "write agents' corrections as a training file",
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the full options of the command named in ``argv`` (the others are listed only)."""
    parser = argparse.ArgumentParser(
        prog="triage", description="Bilingual (EN/ZH) ticket triage: train, evaluate, classify, search, simulate."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    for name, summary in COMMANDS.items():
        command = subparsers.add_parser(name, help=summary, description=summary)
        if name == chosen:
            importlib.import_module(f"triage.cli.{name.replace('-', '_')}").configure(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_offline_environment()
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments).parse_args(arguments)
    try:
        return int(args.handler(args))
    except TriageError as exc:
        print(f"triage {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"triage {args.command}: error: file not found: {exc.filename or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"triage {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
