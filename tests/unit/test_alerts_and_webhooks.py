from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from triage.domain.alerts import AlertType, Severity, anger_alert, escalation_alert, escalation_alert_type
from triage.domain.escalation import EscalationEvent, EscalationRule
from triage.kernel.errors import InvalidRequest
from triage.kernel.vocabulary import Tier
from triage.services.drift import population_stability_index
from triage.services.webhooks import RetryPolicy, parse_events, sign, verify_signature

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _anger(angers: list[float], tier: Tier = Tier.STANDARD):  # noqa: ANN202
    return anger_alert(number="T1", team="care", tier=tier, angers=angers, threshold=0.7, at=NOW)


def test_an_angry_message_alerts_and_a_calm_one_does_not() -> None:
    assert _anger([0.2]) is None
    alert = _anger([0.75])
    assert alert is not None and alert.type is AlertType.ANGRY_CUSTOMER and alert.severity is Severity.HIGH


def test_a_vip_is_weighted_and_comes_first() -> None:
    assert _anger([0.6]) is None
    vip = _anger([0.6], Tier.VIP)  # 0.6 x 1.25 = 0.75 >= 0.7
    assert vip is not None and vip.severity is Severity.CRITICAL and vip.reason.startswith("VIP")
    assert vip.severity.rank < Severity.HIGH.rank


def test_rising_anger_alerts_below_the_threshold() -> None:
    rising = _anger([0.1, 0.3, 0.55])
    assert rising is not None and rising.details["rising"] is True and "rising from 0.10" in rising.reason
    assert _anger([0.5, 0.55]) is None  # not enough of a rise, not angry enough


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (EscalationRule("warn", "resolution", "assignee", at_fraction=0.75), AlertType.SLA_WARNING),
        (EscalationRule("breach", "resolution", "team_lead"), AlertType.SLA_BREACH),
        (EscalationRule("frt", "first_response", "team_lead"), AlertType.SLA_BREACH),
        (EscalationRule("director", "resolution", "director", after=timedelta(hours=4)), AlertType.ESCALATION),
        (EscalationRule("not-accepted", "acceptance", "team_lead", after=timedelta(hours=2)), AlertType.ESCALATION),
    ],
)
def test_each_escalation_level_maps_to_an_alert_type(rule: EscalationRule, expected: AlertType) -> None:
    assert escalation_alert_type(rule) is expected
    event = EscalationEvent("T1", rule.name, rule.metric, rule.notify, 1, NOW, NOW, "lead")
    alert = escalation_alert(event, rule, team="tech", tier=Tier.VIP)
    assert alert.type is expected and alert.number == "T1" and alert.details["rule"] == rule.name
    assert alert.severity in (Severity.CRITICAL, Severity.HIGH)


def test_a_signature_verifies_only_with_the_secret_the_body_and_a_fresh_timestamp() -> None:
    body = b'{"event":"sla_breach","id":"7"}'
    header = sign("s" * 32, body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature("s" * 32, body, header, now=1_700_000_100)
    assert not verify_signature("x" * 32, body, header, now=1_700_000_100)
    assert not verify_signature("s" * 32, body + b" ", header, now=1_700_000_100)
    assert not verify_signature("s" * 32, body, header, now=1_700_000_000 + 301)  # outside the replay window
    assert not verify_signature("s" * 32, body, "garbage", now=1_700_000_000)


def test_retries_back_off_exponentially_with_jitter_then_dead_letter() -> None:
    policy = RetryPolicy(base=timedelta(seconds=2), cap=timedelta(seconds=60), max_attempts=5)
    rng = random.Random(1)
    waits = [(policy.next_try(n, NOW, rng) - NOW).total_seconds() for n in range(1, 5)]  # type: ignore[operator]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(60, 2 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert policy.next_try(5, NOW, rng) is None


def test_event_types_are_checked() -> None:
    assert parse_events(["sla_breach", " angry_customer "]) == {AlertType.SLA_BREACH, AlertType.ANGRY_CUSTOMER}
    with pytest.raises(InvalidRequest, match="unknown event type"):
        parse_events(["sla_breach", "coffee_break"])


def test_population_stability_index_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.beta(8, 2, 5000)
    assert population_stability_index(reference, rng.beta(8, 2, 2000)) < 0.05
    assert population_stability_index(reference, rng.beta(2, 2, 2000)) > 0.25
