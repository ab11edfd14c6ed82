from __future__ import annotations

import pytest

from triage.domain.taxonomy import Category, Taxonomy, UnmappedLabels, split_label, truncate_label
from triage.kernel.errors import ConfigError

TAXONOMY = Taxonomy.of(
    [
        Category("billing", team="billing", skill="billing", names={"en": "Billing", "zh": "账单"}),
        Category("billing/refund", skill="refunds"),
        Category("repair", team="tech"),
        Category("repair/network", skill="network"),
    ]
)


@pytest.mark.parametrize("label", ["", "billing//refund", "/billing", "billing/", " billing", "a/b/c/d"])
def test_a_label_path_has_one_to_three_non_empty_levels(label: str) -> None:
    with pytest.raises(ValueError):
        split_label(label)


def test_a_label_routes_through_its_longest_defined_prefix() -> None:
    route = TAXONOMY.route_for("billing/refund/partial")
    assert route is not None and (route.team, route.skill, route.matched) == ("billing", "refunds", "billing/refund")
    invoice = TAXONOMY.route_for("billing/invoice")
    assert invoice is not None and (invoice.skill, invoice.matched) == ("billing", "billing")


def test_team_and_skill_are_inherited_from_the_nearest_ancestor() -> None:
    route = TAXONOMY.route_for("repair/network")
    assert route is not None and (route.team, route.skill) == ("tech", "network")


def test_a_prefix_without_a_skill_anywhere_does_not_route() -> None:
    assert TAXONOMY.route_for("repair/hardware") is None
    assert TAXONOMY.route_for("hr/payroll") is None
    assert TAXONOMY.unmapped(["hr/payroll", "billing/refund", "repair/hardware"]) == ["hr/payroll", "repair/hardware"]


def test_unmapped_labels_are_an_error_that_lists_each_one() -> None:
    with pytest.raises(ConfigError) as caught:
        TAXONOMY.check_labels(["billing/refund", "hr/payroll", "repair/hardware"])
    assert "'hr/payroll'" in str(caught.value) and "'repair/hardware'" in str(caught.value)
    assert "billing/refund'" not in str(caught.value)


def test_with_the_queue_policy_unmapped_labels_are_warnings_naming_the_triage_queue() -> None:
    queueing = Taxonomy.of(TAXONOMY.categories.values(), unmapped_policy=UnmappedLabels.QUEUE, triage_queue="desk")
    warnings = queueing.check_labels(["billing", "hr/payroll"])
    assert warnings == ["label 'hr/payroll' has no route in the taxonomy; its tickets go to 'desk'"]


def test_leaves_are_the_entries_nobody_extends_and_names_fall_back_to_english() -> None:
    assert sorted(c.path for c in TAXONOMY.leaves()) == ["billing/refund", "repair/network"]
    assert TAXONOMY.categories["billing"].name("zh") == "账单"
    assert TAXONOMY.categories["billing"].name("fr") == "Billing"
    assert TAXONOMY.categories["repair"].name("zh") == "repair"


def test_a_path_is_defined_once() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        Taxonomy.of([Category("billing"), Category("billing")])


def test_truncating_a_label_keeps_its_first_levels() -> None:
    assert truncate_label("billing/refund/partial", 2) == "billing/refund"
    assert truncate_label("billing", 3) == "billing"
