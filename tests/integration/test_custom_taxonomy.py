"""An organisation trains its own categories and routes them through its own taxonomy file, end to end.

The labels (``hr/payroll``, ``hr/leave``, ``facilities/desk/chair``) are ones the shipped configuration has never
seen. Training goes through ``triage train`` into a fresh MLflow store, serving loads the champions, routing reads
a taxonomy file written by the test, and ``triage evaluate`` reports accuracy per level of the label paths.
"""

from __future__ import annotations

import itertools
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.conftest import use_settings
from triage.adapters.policy_file import load_routing_config
from triage.cli.main import main as cli
from triage.config import Settings
from triage.domain.ticket import Customer, Ticket
from triage.engine.factory import build_pipeline
from triage.kernel.errors import ConfigError
from triage.services.assign import triage_and_route
from triage.services.routing_board import RoutingBoard

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "config"
#: Monday 10:00 in Shanghai: the shipped roster is on shift.
NOW = datetime(2026, 3, 2, 2, tzinfo=UTC)

PHRASES = {
    "hr/payroll": (
        ["My salary for {m} is wrong", "The payslip for {m} is missing", "I was underpaid in {m}",
         "{m} 的工资算错了", "{m} 的工资条没收到", "{m} 工资少发了"],
        ["overtime is not included", "the bonus is missing", "tax deduction looks too high", "加班费没算", "奖金没有发"],
    ),
    "hr/leave": (
        ["I want to request annual leave in {m}", "How many vacation days do I have left in {m}",
         "Sick leave for two days in {m}", "{m} 想请年假", "{m} 请病假两天", "{m} 的假期余额是多少"],
        ["please approve it", "my manager agreed", "the leave form fails", "请帮忙审批", "请假系统提交失败"],
    ),
    "facilities/desk/chair": (
        ["My office chair is broken since {m}", "The desk chair wobbles since {m}", "Need a new ergonomic chair from {m}",
         "{m} 起办公椅坏了", "{m} 开始椅子一直晃", "{m} 需要换一把人体工学椅"],
        ["the backrest is loose", "a wheel came off", "it squeaks all day", "靠背松了", "轮子掉了"],
    ),
}  # fmt: skip
URGENCY = {"hr/payroll": "P2", "hr/leave": "P4", "facilities/desk/chair": "P3"}
MONTHS = ["January", "March", "May", "July"]


def _rows() -> list[dict[str, str]]:
    rows = []
    for label, (openings, details) in PHRASES.items():
        for opening, detail, month in itertools.product(openings, details, MONTHS[:2]):
            angry = len(rows) % 4 == 0
            text = f"{opening.format(m=month)}, {detail}" + ("!! This is unacceptable." if angry else ".")
            rows.append({"text": text, "category": label, "urgency": URGENCY[label],
                         "sentiment": "negative" if angry else "neutral"})  # fmt: skip
    return rows


def _taxonomy(folder: Path, *, with_facilities: bool, unmapped: str = "error") -> Path:
    text = f'unmapped = "{unmapped}"\ntriage_queue = "triage"\n\n[categories.hr]\nteam = "care"\nskill = "general"\n'
    text += 'name = {{ en = "People", zh = "人事" }}\n\n[categories."hr/payroll"]\n[categories."hr/leave"]\n'.replace("{{", "{").replace("}}", "}")
    if with_facilities:
        text += '\n[categories.facilities]\nteam = "tech"\nskill = "hardware"\n'
    path = folder / f"taxonomy-{with_facilities}-{unmapped}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def custom_models(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("custom-home")
    data = home / "tickets.csv"
    pd.DataFrame(_rows()).to_csv(data, index=False)
    settings = Settings(home=home, kb_dir=home / "no-kb", routing_config_dir=CONFIG)
    with pytest.MonkeyPatch.context() as patch:
        use_settings(patch, settings)
        for task in ("category", "urgency", "sentiment"):
            assert cli(["train", "--task", task, "--data", str(data), "--label-col", task, "--quiet"]) == 0
    return settings, data


def _route(settings: Settings, taxonomy_file: Path, tickets: list[Ticket]):
    """Serve the champions and route ``tickets`` with the shipped roster and SLA (minus its per-category row)."""
    config = taxonomy_file.parent / "config"
    if not config.exists():
        shutil.copytree(CONFIG, config)
        sla = config / "sla.toml"
        text = sla.read_text(encoding="utf-8")
        start, end = text.index("# Per-category override"), text.index("# Escalation levels")
        sla.write_text(text[:start] + text[end:], encoding="utf-8")
    pipeline = build_pipeline(settings)
    routing = load_routing_config(config, taxonomy_file=taxonomy_file)
    warnings = routing.taxonomy.check_labels(pipeline.classify.labels)
    board = RoutingBoard(agents=routing.agents, policy=routing.policy)
    return warnings, triage_and_route(tickets, pipeline=pipeline, board=board, now=NOW)


def _tickets() -> list[Ticket]:
    return [
        # Phrased like the training rows: 180 templated rows make a tight out-of-scope boundary, and this test is
        # about routing new labels, not about generalising from templates.
        Ticket("N1", subject="The payslip for January is missing, the bonus is missing.", customer=Customer("C1"),
               created_at=NOW),
        Ticket("N2", subject="January 起办公椅坏了, 轮子掉了.", customer=Customer("C2"), created_at=NOW),
    ]  # fmt: skip


def test_new_labels_route_through_the_taxonomy_file_to_its_teams(custom_models, tmp_path: Path) -> None:
    settings, _ = custom_models
    warnings, routed = _route(settings, _taxonomy(tmp_path, with_facilities=True), _tickets())
    assert warnings == []
    (payroll, to_people), (chair, to_facilities) = routed
    assert payroll.category.label == "hr/payroll" and not payroll.category.abstained
    assert to_people.team == "care" and to_people.agent_id is not None
    assert any(reason.startswith("skill general") for reason in to_people.reasons)
    assert chair.category.label == "facilities/desk/chair" and not chair.category.abstained
    assert to_facilities.team == "tech" and any(r.startswith("skill hardware") for r in to_facilities.reasons)


def test_a_label_without_a_route_stops_start_up_with_its_name(custom_models, tmp_path: Path) -> None:
    settings, _ = custom_models
    with pytest.raises(ConfigError, match=r"'facilities/desk/chair'"):
        _route(settings, _taxonomy(tmp_path, with_facilities=False), _tickets())


def test_with_the_queue_policy_an_unrouted_label_reaches_the_triage_queue_with_the_reason(custom_models, tmp_path) -> None:
    settings, _ = custom_models
    warnings, routed = _route(settings, _taxonomy(tmp_path, with_facilities=False, unmapped="queue"), _tickets())
    assert warnings == ["label 'facilities/desk/chair' has no route in the taxonomy; its tickets go to 'triage'"]
    _, chair = routed[1]
    assert chair.queued and chair.team == "triage"
    assert chair.reasons[0] == "category 'facilities/desk/chair' is not in the taxonomy"


def test_evaluate_reports_accuracy_per_level_of_the_label_paths(custom_models, monkeypatch, capsys) -> None:
    settings, data = custom_models
    monkeypatch.setattr("triage.cli.evaluate.get_settings", lambda: settings)
    code = cli(["evaluate", "--task", "category", "--model", "models:/triage-category@champion", "--data", str(data),
                "--label-col", "category", "--quiet"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and set(result["per_level"]) == {"1", "2", "3"}
    assert result["per_level"]["1"]["n_labels"] == 2 and result["per_level"]["3"]["n_labels"] == 3
    assert result["per_level"]["1"]["accuracy"] >= result["per_level"]["3"]["accuracy"] > 0.9
    shutil.rmtree(settings.home / "model-cache", ignore_errors=True)
