from __future__ import annotations

import numpy as np
import pytest

import kb_index.snapshots as module
from kb_index.snapshots import current_snapshot, write_snapshot
from kb_index.vectors import VectorIndex
from triage.kernel.errors import ModelNotReady


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_equals_brute_force_numpy_oracle(kind: str) -> None:
    rng = np.random.default_rng(0)
    base, queries = _unit(rng, 300, 32), _unit(rng, 20, 32)
    ids = np.arange(1000, 1300)
    index = VectorIndex(32, kind=kind)
    index.add(ids, base)
    scores, hits = index.search(queries, 5)
    oracle = np.argsort(-(queries @ base.T), axis=1)[:, :5]
    if kind == "flat":
        np.testing.assert_array_equal(hits, ids[oracle])
        np.testing.assert_allclose(scores, np.take_along_axis(queries @ base.T, oracle, axis=1), rtol=1e-5)
    else:  # approximate: top-1 recall on a tiny graph is ~exact
        assert (hits[:, 0] == ids[oracle[:, 0]]).mean() >= 0.95


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_removed_ids_never_come_back_and_compaction_keeps_the_rest(kind: str) -> None:
    rng = np.random.default_rng(1)
    base = _unit(rng, 50, 16)
    index = VectorIndex(16, kind=kind)
    index.add(range(50), base)
    index.remove([3, 7])
    _, hits = index.search(base[[3, 7, 9]], 50)
    assert 3 not in hits and 7 not in hits
    assert hits[2, 0] == 9
    index.compact()
    assert len(index) == 48 and not index.tombstones
    _, hits = index.search(base[[9]], 1)
    assert hits[0, 0] == 9


def test_search_on_empty_index_returns_no_hits() -> None:
    scores, hits = VectorIndex(8).search(np.ones((2, 8), np.float32) / np.sqrt(8), 3)
    assert hits.shape == (2, 3) and (hits == -1).all() and np.isneginf(scores).all()


def test_serialised_index_round_trips() -> None:
    rng = np.random.default_rng(2)
    base = _unit(rng, 30, 8)
    index = VectorIndex(8)
    index.add(range(30), base)
    again = VectorIndex.from_bytes(index.to_bytes(), dim=8, kind="flat")
    np.testing.assert_array_equal(again.search(base, 3)[1], index.search(base, 3)[1])


def test_snapshot_pointer_only_moves_after_a_complete_write(tmp_path, monkeypatch) -> None:
    first = write_snapshot(tmp_path, {"a.txt": b"old"})
    assert current_snapshot(tmp_path) == first

    real_replace = module.os.replace

    def crash_on_pointer(src, dst):  # noqa: ANN001
        if str(dst).endswith("CURRENT"):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(module.os, "replace", crash_on_pointer)
    with pytest.raises(OSError):
        write_snapshot(tmp_path, {"a.txt": b"new"})
    assert (current_snapshot(tmp_path) / "a.txt").read_bytes() == b"old"


def test_missing_index_is_a_clear_model_not_ready(tmp_path) -> None:
    with pytest.raises(ModelNotReady, match="triage kb build"):
        current_snapshot(tmp_path)
