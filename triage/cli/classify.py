"""``triage classify``: batch-triage a CSV/Parquet file into a new file.

Every input row comes out, in order. A row whose text cannot be triaged (empty, too long) keeps
its data and gets the reason in ``triage_error``, so nothing is lost.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from training.data import join_text_columns, read_table, resolve_text_columns
from triage.config import get_settings
from triage.domain.ticket import Customer, Ticket
from triage.engine.factory import build_pipeline
from triage.engine.pipeline import validate_text
from triage.engine.results import TriageResult
from triage.kernel.errors import InvalidDataset, InvalidTicket
from triage.kernel.vocabulary import Channel, Tier, parse_enum

CHUNK = 64


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``classify`` options."""
    parser.description = (
        "Adds language, category (+confidence, alternatives, abstention), urgency, sentiment, anger, suggested "
        "articles and model versions to every row. Optional columns customer_id, customer_tier (standard|vip) "
        "and channel feed urgency."
    )
    parser.add_argument("--in", dest="input", required=True, type=Path, help="input .csv, .tsv or .parquet")
    parser.add_argument("--out", required=True, type=Path, help="output .csv or .parquet")
    parser.add_argument("--text-col", help="text column, or several comma-separated (default: text, else subject,body)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(handler=run)


def _flatten(result: TriageResult) -> dict[str, object]:
    category, urgency, sentiment = result.category, result.urgency, result.sentiment
    return {
        "language": result.language.language,
        "category": category.label,
        "category_confidence": category.confidence,
        "category_abstained": category.abstained,
        "abstain_reason": category.abstain_reason or "",
        "category_alternatives": json.dumps([[s.label, s.confidence] for s in category.ranking], ensure_ascii=False),
        "urgency": urgency.level,
        "urgency_score": urgency.score,
        "urgency_signals": json.dumps([[s.source, s.detail, s.weight] for s in urgency.signals], ensure_ascii=False),
        "sentiment": sentiment.label,
        "anger": sentiment.anger,
        "suggested_articles": json.dumps(
            [{"article_id": s.article_id, "title": s.title, "score": s.score} for s in result.suggestions],
            ensure_ascii=False,
        ),
        "model_versions": json.dumps(result.model_versions),
        "triage_error": "",
    }


def _ticket(position: int, row: pd.Series) -> Ticket:
    """The ticket behind a row; its tier and channel must be known values, else the row gets a triage_error."""

    def value(column: str) -> str:
        return str(row[column]).strip() if column in row.index else ""

    try:
        tier = parse_enum(Tier, value("customer_tier") or Tier.STANDARD, what="customer_tier")
        channel = parse_enum(Channel, value("channel") or Channel.API, what="channel")
    except ValueError as exc:
        raise InvalidTicket(str(exc)) from None
    return Ticket(
        id=f"row-{position}", customer=Customer(id=value("customer_id") or "anonymous", tier=tier), channel=channel
    )


def run(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() not in {".csv", ".parquet", ".pq"}:
        raise InvalidDataset(f"--out {args.out}: unsupported file type; use .csv or .parquet")
    frame = read_table(args.input)
    columns = resolve_text_columns(frame, args.text_col, source=str(args.input))
    texts = join_text_columns(frame, columns)
    settings = get_settings()
    pipeline = build_pipeline(settings)

    rows: list[dict[str, object] | None] = [None] * len(frame)
    valid: list[int] = []
    tickets: dict[int, Ticket] = {}
    for position, text in enumerate(texts):
        try:
            validate_text(text, max_chars=settings.max_text_chars)
            tickets[position] = _ticket(position, frame.iloc[position])
            valid.append(position)
        except InvalidTicket as exc:
            rows[position] = {"triage_error": str(exc)}
    chunks = range(0, len(valid), CHUNK)
    if not args.quiet:
        chunks = tqdm(chunks, desc="classify", unit="chunk", total=len(chunks))
    for start in chunks:
        batch = valid[start : start + CHUNK]
        results = pipeline.batch([texts.iloc[i] for i in batch], [tickets[i] for i in batch])
        for position, result in zip(batch, results, strict=True):
            rows[position] = _flatten(result)
    triaged = pd.DataFrame([row or {} for row in rows], index=frame.index)
    output = pd.concat(
        [frame, triaged.add_prefix("triage_").rename(columns={"triage_triage_error": "triage_error"})], axis=1
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() == ".csv":
        output.to_csv(args.out, index=False)
    else:
        output.to_parquet(args.out, index=False)
    failed = len(frame) - len(valid)
    print(f"triaged {len(valid)} of {len(frame)} rows into {args.out}" + (f"; {failed} rows have triage_error" if failed else ""),
          file=sys.stderr)  # fmt: skip
    return 0
