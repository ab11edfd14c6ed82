"""Agents' corrections: stored with the model version, visible as live quality, exported, trained on, evaluated."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.conftest import Api
from triage.cli.main import main as cli
from triage.config import get_settings

pytestmark = pytest.mark.integration

#: Ticket texts written for this test, and the category an agent settles on for each kind.
KINDS = {
    "billing/refund": ["I was charged twice, please refund the second payment", "refund for order {n} never arrived"],
    "account/access": ["cannot log in, password reset link expired", "account {n} locked after three tries"],
    "repair/network": ["vpn network connection drops every hour", "wifi at site {n} is down since this morning"],
    "billing/invoice": ["invoice {n} shows the wrong company name", "please send the receipt for order {n}"],
}


def test_corrections_show_in_quality_then_export_train_and_evaluate_end_to_end(
    api: Api, tmp_path: Path, monkeypatch, capsys  # noqa: ANN001
) -> None:
    corrected_to: dict[str, str] = {}
    for n in range(100):
        label = list(KINDS)[n % 4]
        text = KINDS[label][n % 2].format(n=n)
        ticket = api.submit(text, f"ticket {n}")
        wrong_label = next(other for other in KINDS if other != label)
        response = api.post(f"/api/v1/tickets/{ticket['number']}/corrections", "admin",
                            json={"category": label if ticket["category"] != label else wrong_label})  # fmt: skip
        assert response.status_code == 200, response.text
        corrected_to[ticket["number"]] = response.json()["category"]
    quality = api.get("/api/v1/models/quality").json()
    [category] = [m for m in quality["models"] if m["task"] == "category"]
    assert category["version"] == "triage-category/7" and category["triaged"] == 100
    assert category["corrected"] == 100 - category["abstained"]  # every answered ticket was corrected
    assert category["live_accuracy"] == 0.0 and {label["label"] for label in category["labels"]} <= set(KINDS)
    assert api.get("/api/v1/models/quality", "intake").status_code == 403
    audit = api.get(f"/api/v1/tickets/{next(iter(corrected_to))}/audit").json()
    assert any(e["action"] == "classified" for e in audit)

    monkeypatch.setenv("TRIAGE_HOME", str(api.settings.home))
    monkeypatch.setenv("TRIAGE_DATABASE_URL", api.settings.resolved_database_url)
    monkeypatch.setenv("TRIAGE_ROUTING_CONFIG_DIR", str(api.settings.routing_config_dir))
    get_settings.cache_clear()
    out = tmp_path / "corrections.csv"
    assert cli(["export-corrections", "--out", str(out)]) == 0
    exported = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(exported) == 100 and dict(zip(exported.number, exported.category, strict=True)) == corrected_to
    assert set(exported.category_model_version) == {"triage-category/7"}
    assert cli(["export-corrections", "--out", str(tmp_path / "x.json")]) == 2
    capsys.readouterr()

    monkeypatch.setenv("TRIAGE_HOME", str(tmp_path / "training-home"))  # a fresh MLflow store for the candidate
    monkeypatch.setenv("TRIAGE_ENCODER", "use")
    get_settings.cache_clear()
    try:
        assert cli(["train", "--task", "category", "--data", str(out), "--label-col", "category", "--quiet"]) == 0
        trained = json.loads(capsys.readouterr().out)
        assert trained["promoted"] and trained["n_train"] + trained["n_holdout"] == 100
        assert cli(["evaluate", "--task", "category", "--model", "models:/triage-category@champion", "--data", str(out),
                    "--label-col", "category", "--quiet"]) == 0  # fmt: skip
        evaluated = json.loads(capsys.readouterr().out)
        assert evaluated["n"] == 100 and evaluated["accuracy"] > 0.8 and set(evaluated["per_level"]) == {"1", "2"}
    finally:
        get_settings.cache_clear()
