"""Load and validate labelled CSV/Parquet files for training and evaluation."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from triage.kernel.errors import InvalidDataset
from triage.services.batch_triage import as_text_table, join_text_columns, resolve_text_columns

#: Longest training text kept, in characters; longer texts are truncated (and counted).
MAX_TRAIN_CHARS = 4_000
SPLIT_SEED = 42
#: Labels with fewer training examples get a warning: a 5-fold calibration cannot see them in every fold.
RARE_LABEL_EXAMPLES = 5


@dataclass
class LabelledTexts:
    """Texts with string labels, plus what loading dropped or changed (reported, never silent)."""

    texts: list[str]
    labels: list[str]
    source: str
    text_columns: list[str]
    label_column: str
    dropped_empty_text: int = 0
    dropped_empty_label: int = 0
    truncated: int = 0
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def fingerprint(self) -> str:
        """SHA-256 of the (text, label) rows in order: identical data, identical fingerprint."""
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels, strict=True):
            digest.update(text.encode())
            digest.update(b"\x1f")
            digest.update(label.encode())
            digest.update(b"\x1e")
        return digest.hexdigest()[:16]

    def subset(self, indices: np.ndarray, *, source: str) -> LabelledTexts:
        return LabelledTexts(
            texts=[self.texts[i] for i in indices],
            labels=[self.labels[i] for i in indices],
            source=source,
            text_columns=self.text_columns,
            label_column=self.label_column,
        )


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file with every column as text.

    Raises:
        InvalidDataset: unknown extension or unreadable file.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            return as_text_table(pd.read_parquet(path))
        if suffix in {".csv", ".tsv", ".txt"}:
            return pd.read_csv(path, dtype=str, keep_default_na=False, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        raise InvalidDataset(f"cannot read {path}: {exc}") from exc
    raise InvalidDataset(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv or .parquet")


def load_labelled(
    path: Path, *, text_col: str | None = None, label_col: str | None = None, require_labels: bool = True
) -> LabelledTexts:
    """Load a labelled file, dropping (and counting) rows with empty text or label.

    Raises:
        InvalidDataset: missing columns, or no usable rows.
    """
    source = str(path)
    frame = read_table(Path(path))
    columns = resolve_text_columns(frame, text_col, source=source)
    label_column = label_col or "label"
    if require_labels and label_column not in frame.columns:
        raise InvalidDataset(
            f"{source}: missing label column {label_column!r}; available columns: "
            f"{', '.join(map(str, frame.columns))}. Choose one with --label-col"
        )
    texts = join_text_columns(frame, columns)
    labels = (
        frame[label_column].astype(str).str.strip() if label_column in frame.columns else pd.Series([""] * len(frame))
    )
    empty_text = texts.str.strip() == ""
    empty_label = (labels == "") & ~empty_text if require_labels else pd.Series(False, index=frame.index)
    keep = ~(empty_text | empty_label)
    kept_texts = texts[keep].tolist()
    truncated = sum(len(t) > MAX_TRAIN_CHARS for t in kept_texts)
    data = LabelledTexts(
        texts=[t[:MAX_TRAIN_CHARS] for t in kept_texts],
        labels=labels[keep].tolist(),
        source=source,
        text_columns=columns,
        label_column=label_column,
        dropped_empty_text=int(empty_text.sum()),
        dropped_empty_label=int(empty_label.sum()),
        truncated=truncated,
    )
    if not len(data):
        raise InvalidDataset(f"{source}: no rows with both text and label")
    for count, what in (
        (data.dropped_empty_text, "rows with empty text were skipped"),
        (data.dropped_empty_label, "rows with an empty label were skipped"),
        (data.truncated, f"texts longer than {MAX_TRAIN_CHARS} characters were truncated"),
    ):
        if count:
            data.notes.append(f"{count} {what}")
            print(f"warning: {source}: {count} {what}", file=sys.stderr)
    return data


def check_trainable(data: LabelledTexts) -> None:
    """Refuse training data that cannot give a classifier.

    Raises:
        InvalidDataset: fewer than two classes.
    """
    classes = sorted(set(data.labels))
    if len(classes) < 2:
        only = classes[0] if classes else "nothing"
        raise InvalidDataset(
            f"{data.source}: column {data.label_column!r} has a single class ({only!r}); "
            "a classifier needs at least two labels"
        )


def rare_label_note(data: LabelledTexts) -> str | None:
    """A warning naming the labels with fewer than ``RARE_LABEL_EXAMPLES`` examples, if any."""
    counts = Counter(data.labels)
    rare = sorted(label for label, count in counts.items() if count < RARE_LABEL_EXAMPLES)
    if not rare:
        return None
    shown = ", ".join(rare[:5]) + (", ..." if len(rare) > 5 else "")
    return (
        f"{len(rare)} labels have fewer than {RARE_LABEL_EXAMPLES} examples ({shown}): "
        "they are learned, but seldom predicted with confidence"
    )


def split_holdout(
    data: LabelledTexts, *, test_share: float = 0.2, seed: int = SPLIT_SEED
) -> tuple[LabelledTexts, LabelledTexts]:
    """Seeded stratified split; classes with fewer than 2 rows stay in training."""
    rng = np.random.default_rng(seed)
    labels = np.array(data.labels)
    train_idx, test_idx = [], []
    for label in sorted(set(data.labels)):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_share)) if len(idx) >= 2 else 0
        n_test = min(max(n_test, 1 if len(idx) >= 5 else 0), len(idx) - 1) if len(idx) >= 2 else 0
        test_idx.extend(idx[:n_test])
        train_idx.extend(idx[n_test:])
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    return data.subset(train_idx, source=f"{data.source}[train]"), data.subset(
        test_idx, source=f"{data.source}[holdout]"
    )
