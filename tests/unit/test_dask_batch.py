"""Batch triage on Dask with a pipeline of fakes, on an in-process cluster: partitions, order, retries, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import LocalCluster

from tests.fake_cluster import FAIL_ALWAYS, FAIL_ONCE, FakePipelinePlugin, fake_pipeline
from triage.adapters.dask_batch import MANIFEST, classify_on_cluster, plan_partitions
from triage.config import Settings
from triage.kernel.errors import BatchIncomplete, InvalidDataset
from triage.services.batch_triage import TRIAGE_COLUMNS, triage_table

TEXTS = ["my vpn connection drops", "退款 什么时候 到账", "where is my invoice", "   ", "thanks great service"]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as local:
        yield local.scheduler_address


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, category_model=str(tmp_path / "c"), urgency_model=str(tmp_path / "u"),
                    sentiment_model=str(tmp_path / "s"), kb_dir=tmp_path / "no-kb")  # fmt: skip


def _write(folder: Path, name: str, texts: list[str], *, row_group_size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"ticket_id": [f"{name}-{i}" for i in range(len(texts))], "text": texts})
    pq.write_table(table, folder / f"{name}.parquet", row_group_size=row_group_size)


def _run(cluster: str, source: Path, target: Path, tmp_path: Path, **options):  # noqa: ANN003, ANN202
    lines: list[str] = []
    run = classify_on_cluster(source, target, address=cluster, settings=_settings(tmp_path), report=lines.append,
                              plugin=FakePipelinePlugin(_settings(tmp_path)), **options)  # fmt: skip
    return run, lines


def _parts(target: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(path) for path in sorted(target.glob("part-*.parquet"))], ignore_index=True)


def test_partitions_are_the_row_groups_of_the_files_in_name_order(tmp_path: Path) -> None:
    _write(tmp_path / "in", "b", TEXTS * 2, row_group_size=4)
    _write(tmp_path / "in", "a", TEXTS, row_group_size=10)
    partitions = plan_partitions(tmp_path / "in")
    assert [(Path(p.source).name, p.row_group, p.rows) for p in partitions] == [
        ("a.parquet", 0, 5), ("b.parquet", 0, 4), ("b.parquet", 1, 4), ("b.parquet", 2, 2)]  # fmt: skip
    assert [p.index for p in partitions] == [0, 1, 2, 3]


def test_every_row_comes_out_in_order_with_the_single_process_results(cluster, tmp_path: Path) -> None:
    _write(tmp_path / "in", "a", TEXTS * 3, row_group_size=4)
    _write(tmp_path / "in", "b", TEXTS, row_group_size=2)
    run, lines = _run(cluster, tmp_path / "in", tmp_path / "out", tmp_path)
    got = _parts(tmp_path / "out")
    frames = [pd.read_parquet(tmp_path / "in" / f"{name}.parquet").astype(str) for name in ("a", "b")]
    expected = triage_table(pd.concat(frames, ignore_index=True), columns=["text"], pipeline=fake_pipeline(),
                            max_chars=20_000).frame  # fmt: skip
    assert lines == [] and run.rows == 20 and run.error_rows == 4
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert set(TRIAGE_COLUMNS) <= set(got.columns)
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["rows"] == 20 and manifest["failed_partitions"] == []
    assert [p["rows"] for p in manifest["partitions"]] == [4, 4, 4, 3, 2, 2, 1]


def test_a_failed_partition_is_retried_and_reported(cluster, tmp_path: Path) -> None:
    _write(tmp_path / "in", "a", [*TEXTS, f"vpn down {FAIL_ONCE}"], row_group_size=3)
    run, lines = _run(cluster, tmp_path / "in", tmp_path / "out", tmp_path)
    assert len(lines) == 1 and "part-00001.parquet" in lines[0] and "retrying" in lines[0]
    assert run.rows == 6 and [p.attempts for p in run.partitions] == [1, 2]
    assert _parts(tmp_path / "out")["ticket_id"].tolist() == [f"a-{i}" for i in range(6)]


def test_a_partition_failing_every_attempt_stops_the_run_loudly_and_is_listed(cluster, tmp_path: Path) -> None:
    _write(tmp_path / "in", "a", [*TEXTS, f"vpn down {FAIL_ALWAYS}"], row_group_size=3)
    with pytest.raises(BatchIncomplete, match=r"1 of 2 partitions failed after 2 attempts .*disk full.*3 rows"):
        _run(cluster, tmp_path / "in", tmp_path / "out", tmp_path, retries=1)
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["failed_partitions"] == ["part-00001.parquet"] and manifest["rows"] == 3
    assert [p.name for p in sorted((tmp_path / "out").glob("part-*"))] == ["part-00000.parquet"]


def test_bad_input_is_refused_before_any_work(cluster, tmp_path: Path) -> None:
    _write(tmp_path / "in", "a", TEXTS, row_group_size=5)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.parquet").write_bytes(b"")
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("text\nhello\n")
    with pytest.raises(InvalidDataset, match="not an empty folder"):
        _run(cluster, tmp_path / "in", tmp_path / "full", tmp_path)
    with pytest.raises(InvalidDataset, match="missing text column"):
        _run(cluster, tmp_path / "in", tmp_path / "out", tmp_path, text_col="body")
    with pytest.raises(InvalidDataset, match="Parquet"):
        _run(cluster, tmp_path / "csv", tmp_path / "out2", tmp_path)
    with pytest.raises(InvalidDataset, match="local:N"):
        classify_on_cluster(tmp_path / "in", tmp_path / "out3", address="local:zero", settings=_settings(tmp_path))
