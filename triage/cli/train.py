"""``triage train``: train a head, log it to MLflow, register it and apply the champion rule."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.train import TASKS, train_task
from triage.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options."""
    parser.description = (
        "Train a head, log the run to MLflow, register a version and promote it to @champion when it is not "
        "worse than the current champion on the same held-out data. Prints one JSON object."
    )
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument("--data", required=True, type=Path, help="labelled training file (.csv, .tsv, .parquet)")
    parser.add_argument("--test", type=Path, help="held-out file; default: a seeded 20%% split of --data")
    parser.add_argument("--text-col", help="text column, or several comma-separated (default: text, else subject,body)")
    parser.add_argument("--label-col", help="label column (default: label)")
    parser.add_argument("--label-order", help="urgency only: labels from most to least urgent, comma-separated")
    parser.add_argument("--config", type=Path, help="hyper-parameter TOML (default: training/configs/<task>.toml)")
    parser.add_argument("--force-promote", action="store_true", help="move @champion even if the candidate is worse")
    parser.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    outcome = train_task(
        task=args.task,
        data_path=args.data,
        test_path=args.test,
        settings=get_settings(),
        text_col=args.text_col,
        label_col=args.label_col,
        force_promote=args.force_promote,
        label_order=[s.strip() for s in args.label_order.split(",")] if args.label_order else None,
        config_path=args.config,
        progress=not args.quiet,
    )
    print(json.dumps(outcome.to_dict(), ensure_ascii=False, default=str))
    return 0
