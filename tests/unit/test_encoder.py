"""Encoder plumbing with fakes: the language gate, the concatenated layout, the scope check and the export cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.digest import sha256
from models.encoder import ConcatEncoder, LanguageGatedEncoder, MemoizedEncoder, encoder_runtime, unit_rows
from models.loading import ScopeModel
from models.onnx_minilm import FILES, MANIFEST, _cached_model, export_folder
from tests.fakes import FakeEncoder


def _gated() -> tuple[LanguageGatedEncoder, FakeEncoder]:
    inner = FakeEncoder(16, id="en:1")
    return LanguageGatedEncoder(inner, unreadable=frozenset({"zh"})), inner


def test_the_gate_never_runs_the_encoder_on_text_it_cannot_read() -> None:
    gated, inner = _gated()
    vectors = gated.encode(["我的卡被拒了", "My card was declined", "VPN 连不上，报错 E1043", "Où est ma commande ?"])
    assert inner.calls == [["My card was declined", "Où est ma commande ?"]]
    assert not vectors[0].any() and not vectors[2].any()
    np.testing.assert_allclose(vectors[[1, 3]], inner.encode(["My card was declined", "Où est ma commande ?"]))


def test_the_gate_skips_the_forward_pass_when_nothing_is_readable() -> None:
    gated, inner = _gated()
    assert gated.encode(["你好", "谢谢"]).shape == (2, 16) and inner.calls == []
    assert gated.encode([]).shape == (0, 16) and gated.id == "en:1"


def test_concatenated_rows_are_the_mean_of_the_block_cosines() -> None:
    gated, _ = _gated()
    both = FakeEncoder(32, id="both:1")
    encoder = ConcatEncoder([gated, both])
    texts = ["refund my order", "refund the order", "退款", "退款申请"]
    rows = encoder.encode(texts)
    english, bilingual = gated.encode(texts), both.encode(texts)
    assert rows[0] @ rows[1] == pytest.approx((english[0] @ english[1] + bilingual[0] @ bilingual[1]) / 2, abs=1e-5)
    assert rows[2] @ rows[3] == pytest.approx(bilingual[2] @ bilingual[3] / 2, abs=1e-5)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), [1, 1, 2**-0.5, 2**-0.5], rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(unit_rows(rows), axis=1), 1.0, rtol=1e-5)


def test_the_runtime_is_reported_through_every_wrapper() -> None:
    inner = FakeEncoder(16, id="en:1")
    inner.runtime = "onnx-int8"
    gated = LanguageGatedEncoder(inner, unreadable=frozenset({"zh"}))
    both = FakeEncoder(8, id="both:1")
    both.runtime = "numpy"
    assert encoder_runtime(MemoizedEncoder(ConcatEncoder([gated, both]))) == "onnx-int8+numpy"
    assert encoder_runtime(FakeEncoder()) == ""


def test_scope_similarity_is_a_cosine_and_an_unreadable_text_is_never_out_of_scope() -> None:
    centroids = unit_rows(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32))
    scope = ScopeModel(centroids=centroids, threshold=0.5)
    rows = np.array([[0.0, 0.5, 0.0], [0.3, 0.4, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(scope.similarity(rows), [1.0, 0.8, 1.0, 0.0], atol=1e-6)


def _write_export(folder: Path, weights: str) -> Path:
    folder.mkdir(parents=True)
    model = folder / FILES["int8"]
    model.write_bytes(b"onnx bytes")
    manifest = {"source_sha256": weights, "files": {FILES["int8"]: sha256(model)}}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return model


def test_the_export_cache_is_used_only_when_weights_and_file_digest_match(tmp_path: Path) -> None:
    weights = "ab" * 32
    folder = export_folder(tmp_path, weights)
    model = _write_export(folder, weights)
    assert _cached_model(folder, "int8", weights) == model
    assert _cached_model(folder, "int8", "cd" * 32) is None  # other weights: export again
    assert _cached_model(folder, "fp32", weights) is None  # not exported
    model.write_bytes(b"onnx bytes, damaged")
    assert _cached_model(folder, "int8", weights) is None  # damaged: export again
    assert export_folder(tmp_path, "cd" * 32) != folder
