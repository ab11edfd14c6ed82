"""Batch triage of a table (``triage classify``): every row comes out, in order, with ``triage_*`` columns.

A row that cannot be triaged (empty or too long text, an unknown tier or channel) keeps its data and gets the
reason in ``triage_error``; nothing is dropped. The single-process command and each partition of a cluster run
(:mod:`triage.adapters.dask_batch`) go through :func:`triage_table`, so both give the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from triage.domain.ticket import Customer, Ticket
from triage.engine.pipeline import TriagePipeline, validate_text
from triage.engine.results import TriageResult
from triage.kernel.errors import InvalidDataset, InvalidTicket
from triage.kernel.vocabulary import Channel, Tier, parse_enum

#: Tickets per pipeline batch: the encoder's batch, and small enough to report progress often.
CHUNK = 64
#: Output columns and their (nullable) types: the same schema in every output file, even one whose rows all failed.
TRIAGE_COLUMNS: dict[str, str] = {
    "triage_language": "string", "triage_category": "string", "triage_category_confidence": "Float64",
    "triage_category_abstained": "boolean", "triage_abstain_reason": "string", "triage_category_alternatives": "string",
    "triage_urgency": "string", "triage_urgency_score": "Float64", "triage_urgency_signals": "string",
    "triage_sentiment": "string", "triage_anger": "Float64", "triage_suggested_articles": "string",
    "triage_model_versions": "string", "triage_error": "string",
}  # fmt: skip


@dataclass(frozen=True)
class TriagedTable:
    """The input rows with the ``triage_*`` columns, and how many rows could not be triaged."""

    frame: pd.DataFrame
    failed: int

    @property
    def triaged(self) -> int:
        return len(self.frame) - self.failed


def as_text_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text, missing values as ``""`` (how CSV input is read, so Parquet rows triage alike)."""
    return frame.astype(dict.fromkeys(frame.columns, "string")).fillna("").astype(str)


def resolve_text_columns(frame: pd.DataFrame, text_col: str | None, *, source: str) -> list[str]:
    """Columns that make up the text: ``--text-col`` (comma-separated for several), else ``text``,
    else ``subject`` + ``body``.

    Raises:
        InvalidDataset: a named column is missing.
    """
    if text_col:
        columns = [c.strip() for c in text_col.split(",") if c.strip()]
    elif "text" in frame.columns:
        columns = ["text"]
    elif {"subject", "body"} <= set(frame.columns):
        columns = ["subject", "body"]
    else:
        columns = ["text"]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidDataset(
            f"{source}: missing text column(s) {', '.join(map(repr, missing))}; "
            f"available columns: {', '.join(map(str, frame.columns))}. Choose one with --text-col"
        )
    return columns


def join_text_columns(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text per row: the non-empty values of ``columns``, stripped, joined by newlines."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=str)
    return frame[columns].astype(str).agg(lambda row: "\n".join(p.strip() for p in row if p.strip()), axis=1)


def _flatten(result: TriageResult) -> dict[str, object]:
    category, urgency, sentiment = result.category, result.urgency, result.sentiment
    return {
        "triage_language": result.language.language,
        "triage_category": category.label,
        "triage_category_confidence": category.confidence,
        "triage_category_abstained": category.abstained,
        "triage_abstain_reason": category.abstain_reason or "",
        "triage_category_alternatives": json.dumps(
            [[s.label, s.confidence] for s in category.ranking], ensure_ascii=False
        ),  # fmt: skip
        "triage_urgency": urgency.level,
        "triage_urgency_score": urgency.score,
        "triage_urgency_signals": json.dumps(
            [[s.source, s.detail, s.weight] for s in urgency.signals], ensure_ascii=False
        ),  # fmt: skip
        "triage_sentiment": sentiment.label,
        "triage_anger": sentiment.anger,
        "triage_suggested_articles": json.dumps(
            [{"article_id": s.article_id, "title": s.title, "score": s.score} for s in result.suggestions],
            ensure_ascii=False,
        ),
        "triage_model_versions": json.dumps(result.model_versions),
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


def triage_table(
    frame: pd.DataFrame,
    *,
    columns: list[str],
    pipeline: TriagePipeline,
    max_chars: int,
    chunk: int = CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> TriagedTable:
    """Triage every row of ``frame``; the output has its rows, in order, plus :data:`TRIAGE_COLUMNS`.

    Optional columns ``customer_id``, ``customer_tier`` (standard|vip) and ``channel`` feed urgency.

    Args:
        frame: The input rows (every column as text, see :func:`as_text_table`).
        columns: The text columns (see :func:`resolve_text_columns`).
        pipeline: The triage pipeline.
        max_chars: Longest accepted text; longer rows get a ``triage_error``.
        chunk: Rows per pipeline batch.
        on_chunk: Called with the number of rows of each batch triaged (progress).
    """
    texts = join_text_columns(frame, columns)
    rows: list[dict[str, object]] = [{} for _ in range(len(frame))]
    valid: list[int] = []
    tickets: dict[int, Ticket] = {}
    for position, text in enumerate(texts):
        try:
            validate_text(text, max_chars=max_chars)
            tickets[position] = _ticket(position, frame.iloc[position])
            valid.append(position)
        except InvalidTicket as exc:
            rows[position] = {"triage_error": str(exc)}
    for start in range(0, len(valid), chunk):
        batch = valid[start : start + chunk]
        results = pipeline.batch([texts.iloc[i] for i in batch], [tickets[i] for i in batch])
        for position, result in zip(batch, results, strict=True):
            rows[position] = _flatten(result)
        if on_chunk is not None:
            on_chunk(len(batch))
    triaged = pd.DataFrame(rows, index=frame.index, columns=list(TRIAGE_COLUMNS)).astype(TRIAGE_COLUMNS)
    return TriagedTable(frame=pd.concat([frame, triaged], axis=1), failed=len(frame) - len(valid))
