from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from triage.adapters.policy_file import load_routing_config
from triage.domain.ticket import Customer, Ticket
from triage.kernel.errors import ConfigError

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture()
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_configuration_loads():
    config = load_routing_config(CONFIG)
    leaves = {c.path for c in config.taxonomy.leaves()}
    assert "billing/refund" in leaves and "billing" not in leaves
    assert all(config.taxonomy.route_for(label) for label in leaves)
    assert config.taxonomy.teams() <= set(config.teams)
    assert {a.team for a in config.agents} <= set(config.teams)
    vip_p1 = config.sla.target_for(priority="P1", tier="vip")
    assert config.calendar_for(vip_p1).always_open
    assert any(r.metric == "acceptance" and r.after == timedelta(hours=2) for r in config.escalation)


def test_a_category_row_overrides_the_matrix():
    config = load_routing_config(CONFIG)
    outage = config.sla.target_for(priority="P2", tier="standard", category="service/outage")
    general = config.sla.target_for(priority="P2", tier="standard", category="billing/refund")
    assert outage.first_response < general.first_response


def test_a_clock_for_a_ticket_uses_its_matrix_row_and_calendar():
    config = load_routing_config(CONFIG)
    ticket = Ticket(
        id="T1",
        customer=Customer(id="C1", tier="vip"),
        category="repair/network",
        priority="P1",
        language="zh",
        created_at=datetime(2026, 1, 3, 23, tzinfo=UTC),  # a Saturday night
    )
    clock = config.clock_for(ticket)
    assert clock.due_at("first_response") == datetime(2026, 1, 3, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "sla.toml",
            'resolution = "4h"',
            'resolution = "4 hours"',
            r"sla\.toml: key 'targets\[0\]\.resolution'.*duration",
        ),
        (
            "sla.toml",
            'calendar = "24x7"',
            'calendar = "nope"',
            r"sla\.toml: key 'targets\[0\]\.calendar': unknown calendar",
        ),
        ("agents.toml", "capacity = 6", "capacity = 0", r"agents\.toml: key 'agents\[0\] \(id=wang\.lei\)\.capacity'"),
        ("agents.toml", 'team = "tech"', 'team = "nobody"', r"agents\.toml: .*\.team': unknown team 'nobody'"),
        ("agents.toml", "seniority = 4", "senority = 4", r"agents\.toml: key .*senority': unknown key"),
        (
            "calendars.toml",
            'tz = "Asia/Shanghai"',
            'tz = "Mars/Olympus"',
            r"calendars\.toml: .*\.tz': unknown timezone",
        ),
        (
            "taxonomy.toml",
            '[categories."repair/network"]\nskill = "network"',
            '[categories."repair//network"]\nskill = "network"',
            r"taxonomy\.toml: key 'categories\.repair//network': .*no empty levels",
        ),
        (
            "taxonomy.toml",
            '[categories.billing]\nteam = "billing"',
            '[categories.billing]\nteam = "finance"',
            r"taxonomy\.toml: key 'categories\.billing\.team': unknown team 'finance'",
        ),
        (
            "taxonomy.toml",
            '[categories.delivery]\nteam = "care"\nskill = "logistics"',
            "[categories.delivery]",
            r"taxonomy\.toml: key 'categories': no team or skill .* delivery/shipping",
        ),
        ("taxonomy.toml", 'unmapped = "error"\n', 'unmapped = "drop"\n', r"taxonomy\.toml: key 'unmapped'"),
        ("taxonomy.toml", 'triage_queue = "triage"', 'triage_queue = "void"', r"key 'triage_queue': unknown team"),
        (
            "sla.toml",
            'category = "service/outage"',
            'category = "service/outages"',
            r"sla\.toml: key 'targets\[8\]\.category': .*not in the taxonomy",
        ),
        ("routing.toml", "angry_threshold = 0.7", "angry_threshold = 7", r"routing\.toml: key 'angry_threshold'"),
        ("sla.toml", 'metric = "acceptance"', 'metric = "accepted"', r"sla\.toml: key 'escalation\[4\]\.metric'"),
        (
            "teams.toml",
            'calendar = "shanghai-office"',
            "calendar = 3",
            r"teams\.toml: key 'teams\.tech\.calendar': must be str",
        ),
    ],
)
def test_invalid_configuration_names_the_file_the_key_and_the_problem(config_copy, file, old, new, expected):
    edit(config_copy, file, old, new)
    with pytest.raises(ConfigError, match=expected):
        load_routing_config(config_copy)


def test_a_matrix_with_a_missing_row_is_rejected(config_copy):
    edit(config_copy, "sla.toml", 'priority = "P4"\ntier = "vip"', 'priority = "P4"\ntier = "standard"')
    with pytest.raises(ConfigError, match=r"sla\.toml: key .*(duplicate row|lacks rows for P4×vip)"):
        load_routing_config(config_copy)


def test_a_missing_file_is_named(config_copy):
    (config_copy / "agents.toml").unlink()
    with pytest.raises(ConfigError, match=r"agents\.toml: file is missing"):
        load_routing_config(config_copy)


def test_broken_toml_is_reported_with_its_file(config_copy):
    (config_copy / "teams.toml").write_text("[teams.tech\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"teams\.toml: not valid TOML"):
        load_routing_config(config_copy)


def test_an_sla_category_row_also_covers_the_labels_below_it():
    config = load_routing_config(CONFIG)
    outage = config.sla.target_for(priority="P2", tier="standard", category="service/outage")
    deeper = config.sla.target_for(priority="P2", tier="standard", category="service/outage/region")
    assert deeper == outage


def test_a_taxonomy_elsewhere_can_be_named(config_copy, tmp_path):
    sla = config_copy / "sla.toml"
    sla.write_text(sla.read_text(encoding="utf-8").split("# Per-category override")[0], encoding="utf-8")
    other = tmp_path / "taxonomy.toml"
    other.write_text(
        'triage_queue = "triage"\n[categories."hr/payroll"]\nteam = "billing"\nskill = "billing"\n', encoding="utf-8"
    )
    config = load_routing_config(config_copy, taxonomy_file=other)
    assert [c.path for c in config.taxonomy.leaves()] == ["hr/payroll"]
