"""Executes the evaluation notebook, so the README's accuracy table cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "evaluation.ipynb"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.data
def test_evaluation_notebook_runs_and_reports_every_benchmark(shared_data: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    for key in ("banking77", "chnsenticorp", "airline", "online_shopping", "endava_urgency"):
        assert key in printed
    assert "banking77 accuracy >= 0.945" in printed
