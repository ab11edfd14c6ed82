from __future__ import annotations

from pathlib import Path

import pytest

from triage.adapters.policy_file import load_routing_config
from triage.cli.main import main as cli
from triage.cli.simulate import DEMO_CATEGORY_MIX, category_mix, parse_extra_agent
from triage.domain.routing import Strategy
from triage.domain.taxonomy import Category, Taxonomy
from triage.kernel.errors import ConfigError
from triage.services.simulation import compare_policies, generate_tickets

CONFIG = load_routing_config(Path(__file__).resolve().parents[2] / "config")


def run(**kw):
    kw.setdefault("days", 4)
    return compare_policies(
        agents=CONFIG.agents, policy=CONFIG.policy, sla=CONFIG.sla, mix=DEMO_CATEGORY_MIX, load=0.85, **kw
    )


def test_the_same_seed_gives_the_same_results():
    assert run(seed=3) == run(seed=3)
    assert run(seed=3) != run(seed=4)


def test_skills_load_priority_routing_beats_round_robin_on_p1_at_85_percent_load():
    rr, skills = run(seed=11)
    assert (rr.label, skills.label) == ("round_robin", "skills")
    assert skills.attainment["P1"] > rr.attainment["P1"]
    assert skills.mean_frt < rr.mean_frt


def test_every_ticket_is_handled_and_metrics_are_in_range():
    [result] = run(strategies=(Strategy.SKILLS,), seed=5)
    assert result.tickets > 100
    assert all(0.0 <= v <= 1.0 for v in result.attainment.values())
    assert all(0.0 < u <= 1.0 for u in result.utilisation.values())
    assert 1 / len(result.utilisation) <= result.jain_fairness <= 1.0
    assert result.p90_frt >= 0 and result.mean_frt >= 0


def test_one_more_network_engineer_lowers_response_times():
    extra = parse_extra_agent("network:3", CONFIG.policy, 1)
    base, more = run(strategies=(Strategy.SKILLS,), what_if=[*CONFIG.agents, extra], what_if_label="+net", seed=2)
    assert more.label == "skills (+net)"
    assert extra.id in more.utilisation and extra.id not in base.utilisation
    assert more.mean_frt <= base.mean_frt


def test_an_unknown_skill_in_a_what_if_is_rejected():
    with pytest.raises(ConfigError, match="no category needs skill 'juggling'"):
        parse_extra_agent("juggling:3", CONFIG.policy, 1)


def test_the_category_mix_comes_from_the_dataset_topic_groups(tmp_path: Path):
    csv_file = tmp_path / "data.csv"
    csv_file.write_text(
        "text,topic_group\nvpn connection drops,Hardware\nscreen broken,Hardware\nnew laptop,Purchase\n"
        "reset password,Access\n",
        encoding="utf-8",
    )
    mix = category_mix(csv_file, CONFIG.taxonomy)
    assert mix == {
        "account/access": 0.25,
        "billing/payment": 0.25,
        "repair/hardware": 0.25,
        "repair/network": 0.25,
    }
    assert category_mix(tmp_path / "missing.csv", CONFIG.taxonomy) == dict(DEMO_CATEGORY_MIX)


def test_a_taxonomy_of_other_labels_gets_an_even_mix_of_its_leaves():
    taxonomy = Taxonomy.of([Category("hr", team="care", skill="general"), Category("hr/payroll"), Category("hr/leave")])
    assert category_mix(None, taxonomy) == {"hr/payroll": 0.5, "hr/leave": 0.5}


def test_arrivals_follow_the_requested_rate():
    tickets = generate_tickets(mix=DEMO_CATEGORY_MIX, rate_per_min=0.5, horizon_min=2000, seed=1)
    assert 850 < len(tickets) < 1150
    assert all(a.arrival <= b.arrival for a, b in zip(tickets, tickets[1:], strict=False))


def test_the_cli_prints_a_table_and_writes_a_plot(tmp_path: Path, capsys):
    plot = tmp_path / "sla.png"
    code = cli(["simulate", "--days", "2", "--data", str(tmp_path / "none.csv"), "--add-agent", "billing:4",
                "--plot", str(plot)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "| skills (+billing:4) |" in out and "| round_robin |" in out
    assert plot.stat().st_size > 1000


def test_the_cli_reports_a_bad_what_if_as_an_error(capsys):
    assert cli(["simulate", "--days", "1", "--add-agent", "nonsense"]) == 2
    assert "expected skill:level" in capsys.readouterr().err
