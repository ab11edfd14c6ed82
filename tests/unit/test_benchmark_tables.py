"""The README-table checker itself: it must catch a wrong figure, a missing row and an unmeasured row."""

from __future__ import annotations

from training.benchmarks import CI_KEYS, Bar, check_bars, compare_readme, operating_point, render_tables

RESULTS = {
    "default_anger": {"anger_precision": 0.94, "anger_recall": 0.85, "en_recall": 0.86, "zh_recall": 0.83,
                      "calm_false_alert": 0.006, "routine_false_alert_max": 0.007},
}  # fmt: skip


def _readme(tables: str, *, empty: tuple[str, ...] = ("trained", "defaults", "urgency", "out_of_scope")) -> str:
    # Every table the checker expects must exist; empty ones are enough for the others.
    markers = "\n\n".join(f"<!-- table: {name} -->\n| row |\n|---|" for name in empty)
    return f"# README\n\n{tables}\n\n{markers}\n"


def test_rendered_tables_agree_with_the_results_they_came_from() -> None:
    assert compare_readme(_readme(render_tables(RESULTS)), RESULTS) == []


def test_a_wrong_figure_is_reported() -> None:
    readme = _readme(render_tables(RESULTS)).replace("0.8500", "0.9100")
    assert compare_readme(readme, RESULTS) == ["default_anger recall: README 0.91, measured 0.85"]


def test_a_measured_row_missing_from_the_readme_and_an_unmeasured_readme_row_are_reported() -> None:
    readme = _readme(render_tables(RESULTS))
    assert any("was not measured" in p for p in compare_readme(readme, {}))
    without_rows = _readme("", empty=("trained", "defaults", "anger", "urgency", "out_of_scope"))
    assert compare_readme(without_rows, RESULTS) == [
        "measured row 'default_anger' is missing from README table 'anger'"
    ]
    assert "README has no table 'anger'" in compare_readme(_readme(""), RESULTS)[0]


def test_bars_compare_in_both_directions_and_a_missing_figure_is_a_miss() -> None:
    assert Bar("accuracy", ">=", 0.9).met({"accuracy": 0.9}) and not Bar("accuracy", ">=", 0.9).met({})
    assert Bar("ece", "<=", 0.03).met({"ece": 0.01}) and not Bar("ece", "<=", 0.03).met({"ece": 0.05})


def test_every_ci_row_has_known_bars_and_rows_without_bars_check_nothing() -> None:
    checks = check_bars({key: {} for key in CI_KEYS})
    assert {c["row"] for c in checks} <= set(CI_KEYS) and not any(c["met"] for c in checks)
    assert check_bars({"smp2017_oos": {"in_scope_accuracy": 1.0}}) == []


def test_operating_point_figures_render_and_compare() -> None:
    results = {"smp2017_oos": {operating_point(t): {"in_scope_accuracy": 0.8, "oos_recall": 0.9, "coverage": 0.7,
                                                    "accepted_accuracy": 0.99} for t in (0.98, 0.9)}}  # fmt: skip
    tables = render_tables(results)
    assert "| `smp2017_oos` | 0.8000 | 0.9000 | 0.7000 | 0.9900 | 0.8000 |" in tables
    assert compare_readme(_readme(tables, empty=("trained", "defaults", "anger", "urgency")), results) == []
