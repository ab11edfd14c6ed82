"""``triage classify``: batch-triage a CSV/Parquet file into a new file, or a Parquet folder on a Dask cluster.

Every input row comes out, in order. A row whose text cannot be triaged (empty, too long) keeps
its data and gets the reason in ``triage_error``, so nothing is lost.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm

from training.data import read_table
from triage.adapters.dask_batch import MANIFEST, classify_on_cluster
from triage.adapters.taxonomy_file import load_taxonomy
from triage.config import get_settings
from triage.engine.factory import build_pipeline
from triage.kernel.errors import InvalidDataset
from triage.services.batch_triage import resolve_text_columns, triage_table


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``classify`` options."""
    parser.description = (
        "Adds language, category (+confidence, alternatives, abstention), urgency, sentiment, anger, suggested "
        "articles and model versions to every row. Optional columns customer_id, customer_tier (standard|vip) "
        "and channel feed urgency."
    )
    parser.add_argument("--in", dest="input", required=True, type=Path,
                        help="input .csv, .tsv or .parquet; with --cluster a .parquet file or a folder of them")  # fmt: skip
    parser.add_argument("--out", required=True, type=Path,
                        help="output .csv or .parquet; with --cluster a new folder of part-NNNNN.parquet files")  # fmt: skip
    parser.add_argument("--text-col", help="text column, or several comma-separated (default: text, else subject,body)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run on Dask: local:N (N local worker processes) or a scheduler, e.g. tcp://scheduler:8786")  # fmt: skip
    parser.add_argument("--retries", type=int, default=2, help="with --cluster: further attempts of a failed partition")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.cluster:
        return _on_cluster(args)
    if args.out.suffix.lower() not in {".csv", ".parquet", ".pq"}:
        raise InvalidDataset(f"--out {args.out}: unsupported file type; use .csv or .parquet")
    frame = read_table(args.input)
    columns = resolve_text_columns(frame, args.text_col, source=str(args.input))
    settings = get_settings()
    pipeline = build_pipeline(settings, taxonomy=load_taxonomy(settings.resolved_taxonomy_file))
    with tqdm(total=len(frame), desc="classify", unit="row", disable=args.quiet) as progress:
        result = triage_table(frame, columns=columns, pipeline=pipeline, max_chars=settings.max_text_chars,
                              on_chunk=progress.update)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() == ".csv":
        result.frame.to_csv(args.out, index=False)
    else:
        result.frame.to_parquet(args.out, index=False)
    print(f"triaged {result.triaged} of {len(frame)} rows into {args.out}"
          + (f"; {result.failed} rows have triage_error" if result.failed else ""), file=sys.stderr)  # fmt: skip
    return 0


def _on_cluster(args: argparse.Namespace) -> int:
    if args.retries < 0:
        raise InvalidDataset("--retries must be 0 or more")
    with tqdm(desc="classify", unit="row", disable=args.quiet) as progress:
        outcome = classify_on_cluster(
            args.input, args.out, address=args.cluster, settings=get_settings(), text_col=args.text_col,
            retries=args.retries, report=lambda line: progress.write(line, file=sys.stderr),
            on_partition=progress.update,
        )  # fmt: skip
    print(f"triaged {outcome.rows - outcome.error_rows} of {outcome.rows} rows in {len(outcome.partitions)} "
          f"partitions on {args.cluster} in {outcome.seconds} s into {args.out} (see {MANIFEST})"
          + (f"; {outcome.error_rows} rows have triage_error" if outcome.error_rows else ""), file=sys.stderr)  # fmt: skip
    return 0
