"""``triage export-corrections --out FILE``: agents' corrections as a training file.

Each corrected ticket is one row with its text and the labels people settled on (columns ``text``, ``category``,
``urgency``, ...). Then ``triage train --task category --data FILE`` (or ``--task urgency --label-col urgency``)
trains a candidate, optionally on the old data plus this file, and the champion gate decides.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd

from triage.adapters.bootstrap import build_service
from triage.config import get_settings
from triage.kernel.errors import InvalidDataset
from triage.services.feedback import EXPORT_COLUMNS, corrections_for_training


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``export-corrections`` options."""
    parser.description = __doc__
    parser.add_argument("--out", required=True, type=Path, help="output .csv or .parquet")
    parser.add_argument("--since", type=datetime.fromisoformat, help="only corrections from this time on (ISO 8601)")
    parser.add_argument("--with", dest="extra", type=Path, help="an older training file to append (same columns)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() not in {".csv", ".parquet"}:
        raise InvalidDataset(f"--out {args.out}: use a .csv or .parquet file")
    service = build_service(get_settings())
    try:
        rows = corrections_for_training(service.read, since=args.since)
    finally:
        service.stop()
    frame = pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))
    if args.extra is not None:
        older = pd.read_parquet(args.extra) if args.extra.suffix.lower() == ".parquet" else pd.read_csv(args.extra, dtype=str)
        frame = pd.concat([older, frame], ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() == ".csv":
        frame.to_csv(args.out, index=False)
    else:
        frame.to_parquet(args.out, index=False)
    print(f"wrote {len(rows)} corrected tickets to {args.out}" + (f" (+{len(frame) - len(rows)} from {args.extra})"
          if args.extra else ""), file=sys.stderr)  # fmt: skip
    return 0
