from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training.data import check_trainable, load_labelled, rare_label_note, read_table, split_holdout
from triage.kernel.errors import InvalidDataset


def _write(tmp_path: Path, rows: list[dict[str, str]], name: str = "data.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


ROWS = [
    {"text": "card declined", "label": "payment"},
    {"text": "refund please", "label": "refund"},
    {"text": "   ", "label": "refund"},
    {"text": "where is my refund", "label": ""},
    {"text": "vpn down", "label": "0"},
]


def test_skips_and_counts_rows_with_empty_text_or_label(tmp_path: Path) -> None:
    data = load_labelled(_write(tmp_path, ROWS))
    assert data.texts == ["card declined", "refund please", "vpn down"]
    assert data.labels == ["payment", "refund", "0"]  # numeric labels stay strings
    assert (data.dropped_empty_text, data.dropped_empty_label) == (1, 1)
    assert len(data.notes) == 2


def test_missing_label_column_names_the_column_and_the_alternatives(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match=r"missing label column 'category'.*text, label"):
        load_labelled(_write(tmp_path, ROWS), label_col="category")


def test_missing_text_column_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match="missing text column"):
        load_labelled(_write(tmp_path, ROWS), text_col="body")


def test_subject_and_body_are_joined_when_there_is_no_text_column(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"subject": "VPN", "body": "keeps dropping", "label": "network"}])
    assert load_labelled(path).texts == ["VPN\nkeeps dropping"]


def test_reads_parquet_like_csv(tmp_path: Path) -> None:
    assert load_labelled(_write(tmp_path, ROWS, "d.parquet")).labels == load_labelled(_write(tmp_path, ROWS)).labels


def test_unsupported_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(InvalidDataset, match="unsupported file type"):
        read_table(path)


def test_a_single_class_cannot_be_trained(tmp_path: Path) -> None:
    data = load_labelled(_write(tmp_path, [{"text": f"t{i}", "label": "only"} for i in range(5)]))
    with pytest.raises(InvalidDataset, match="single class"):
        check_trainable(data)


def test_rare_labels_are_named_in_a_warning_but_not_refused(tmp_path: Path) -> None:
    rows = [{"text": f"t{i}", "label": "common"} for i in range(10)] + [{"text": "fax jam", "label": "printer"}]
    data = load_labelled(_write(tmp_path, rows))
    check_trainable(data)
    assert "(printer)" in rare_label_note(data)
    assert rare_label_note(load_labelled(_write(tmp_path, rows + rows[-1:] * 4, "enough.csv"))) is None


def test_holdout_split_is_seeded_stratified_and_disjoint(tmp_path: Path) -> None:
    rows = [{"text": f"text {i}", "label": "ab"[i % 2]} for i in range(50)]
    data = load_labelled(_write(tmp_path, rows))
    train, holdout = split_holdout(data)
    again_train, _ = split_holdout(data)
    assert train.texts == again_train.texts
    assert not set(train.texts) & set(holdout.texts)
    assert len(train) + len(holdout) == 50
    assert sorted(set(holdout.labels)) == ["a", "b"]


def test_fingerprint_changes_with_any_label(tmp_path: Path) -> None:
    first = load_labelled(_write(tmp_path, ROWS))
    changed = [dict(r) for r in ROWS]
    changed[0]["label"] = "refund"
    second = load_labelled(_write(tmp_path, changed, "other.csv"))
    assert first.fingerprint() != second.fingerprint()
    assert first.fingerprint() == load_labelled(_write(tmp_path, ROWS, "same.csv")).fingerprint()
