"""Entry point of the ``triage`` console script.

Each sub-command module exposes ``register(subparsers)``, which adds its parser and sets
``handler``: a function ``(args) -> int`` returning the exit code. Errors of the triage
hierarchy become one clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from triage.config import configure_offline_environment
from triage.errors import TriageError

#: Sub-command modules under ``triage.cli``, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = ("train", "evaluate", "classify", "demo", "kb", "simulate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage", description="Bilingual (EN/ZH) ticket triage: train, evaluate, classify, search, simulate."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"triage.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_offline_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
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
