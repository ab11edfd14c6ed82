"""The knowledge-base bars over the shared datasets, reproduced through ``triage kb evaluate``.

Slow (each run embeds ~1.5-2.7k texts on CPU); deselect with ``-m "not slow"``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from triage.cli.main import main

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.data]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def eval_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ARG001 - skips without data
    spec = importlib.util.spec_from_file_location("prepare_kb_eval", REPO / "bench" / "prepare_kb_eval.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("kb_eval")
    assert module.main(["--out", str(out), "--train-pairs", "2000"]) == 0
    return out


def _evaluate(capsys: pytest.CaptureFixture[str], folder: Path, *extra: str) -> dict:
    argv = ["kb", "evaluate", "--kb", str(folder / "articles.csv"), "--queries", str(folder / "queries.csv"), *extra]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_stackfaq_hybrid_reaches_the_ndcg_bar(eval_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = _evaluate(capsys, eval_dir / "stackfaq", "--encoder", "minilm+use")
    assert metrics["n"] == 1249
    assert metrics["ndcg_at_10"] >= 0.97


def test_afqmc_hybrid_beats_semantic_and_lexical(eval_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = eval_dir / "afqmc"
    modes = ("hybrid", "semantic", "lexical")
    runs = {mode: _evaluate(capsys, folder, "--encoder", "use", "--mode", mode) for mode in modes}
    assert runs["hybrid"]["recall_at_5"] > max(runs["semantic"]["recall_at_5"], runs["lexical"]["recall_at_5"])
