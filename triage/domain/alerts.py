"""Alerts for managers: angry customers, SLA warnings, breaches and escalations, possible incidents, repeat
contacts and model drift. Each has a type, a severity, its ticket and team, a reason and a time.

The rules that decide whether something is worth an alert, and how severe, live here; storing, streaming and
delivering alerts is the services' and adapters' work.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from triage.domain.escalation import EscalationEvent, EscalationRule
from triage.kernel.vocabulary import Tier


class AlertType(enum.StrEnum):
    """What happened. The values are the SSE event names and the webhook event types."""

    ANGRY_CUSTOMER = "angry_customer"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    ESCALATION = "escalation"
    POSSIBLE_INCIDENT = "possible_incident"
    REPEAT_CONTACT = "repeat_contact"
    MODEL_DRIFT = "model_drift"


class Severity(enum.StrEnum):
    """How urgently a manager should look; ``rank`` sorts the most severe first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


@dataclass(frozen=True)
class Alert:
    """One alert. ``id`` is set when stored (and is the SSE event id); ``related`` links other tickets."""

    type: AlertType
    severity: Severity
    reason: str
    created_at: datetime
    number: str | None = None
    team: str | None = None
    tier: Tier = Tier.STANDARD
    related: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)
    id: int | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


#: How much a VIP's anger counts: their alerts fire at a lower raw anger score.
VIP_ANGER_WEIGHT = 1.25
#: Anger rising across the customer's messages by at least this much, to at least RISING_FLOOR, alerts too.
RISING_BY, RISING_FLOOR = 0.25, 0.5


def weighted_anger(anger: float, tier: Tier) -> float:
    """Anger weighted by tier (VIPs count more), capped at 1."""
    return min(1.0, anger * (VIP_ANGER_WEIGHT if tier is Tier.VIP else 1.0))


def anger_alert(
    *,
    number: str,
    team: str | None,
    tier: Tier,
    angers: Sequence[float],
    threshold: float,
    at: datetime,
) -> Alert | None:
    """An angry-customer alert when the latest message is angry (tier-weighted) or anger is rising, else ``None``.

    Args:
        number, team, tier: The ticket.
        angers: Anger of the customer's messages, oldest first (the ticket's own text first).
        threshold: The routing ``angry_threshold``.
        at: Now.
    """
    if not angers:
        return None
    latest = weighted_anger(angers[-1], tier)
    rising = len(angers) > 1 and angers[-1] >= RISING_FLOOR and angers[-1] - min(angers[:-1]) >= RISING_BY
    if latest < threshold and not rising:
        return None
    why = f"anger {angers[-1]:.2f}" + (f" (rising from {min(angers[:-1]):.2f})" if rising else "")
    vip = tier is Tier.VIP
    return Alert(
        type=AlertType.ANGRY_CUSTOMER,
        severity=Severity.CRITICAL if vip else Severity.HIGH,
        reason=f"{'VIP ' if vip else ''}customer is angry: {why}",
        created_at=at,
        number=number,
        team=team,
        tier=tier,
        details={"anger": round(angers[-1], 4), "weighted_anger": round(latest, 4), "rising": rising},
    )


def escalation_alert_type(rule: EscalationRule) -> AlertType:
    """A warning before the deadline, the breach itself, or a further escalation (director, not accepted)."""
    if rule.metric == "acceptance":
        return AlertType.ESCALATION
    if rule.at_fraction < 1.0:
        return AlertType.SLA_WARNING
    if rule.after.total_seconds() == 0:
        return AlertType.SLA_BREACH
    return AlertType.ESCALATION


def escalation_alert(event: EscalationEvent, rule: EscalationRule, *, team: str | None, tier: Tier) -> Alert:
    """The alert an escalation level raises. VIPs are one severity higher."""
    kind = escalation_alert_type(rule)
    base = {AlertType.SLA_WARNING: Severity.MEDIUM, AlertType.SLA_BREACH: Severity.HIGH,
            AlertType.ESCALATION: Severity.HIGH}[kind]  # fmt: skip
    severity = Severity.CRITICAL if tier is Tier.VIP and kind is not AlertType.SLA_WARNING else base
    if tier is Tier.VIP and kind is AlertType.SLA_WARNING:
        severity = Severity.HIGH
    what = {"acceptance": "not accepted", "first_response": "first response", "resolution": "resolution"}[event.metric]
    return Alert(
        type=kind,
        severity=severity,
        reason=f"{what}: {event.rule} (cycle {event.cycle}) → notify {event.notify}"
        + (f" ({event.recipient})" if event.recipient else ""),
        created_at=event.fired_at,
        number=event.ticket_id,
        team=team,
        tier=tier,
        details={"rule": event.rule, "metric": event.metric, "notify": event.notify, "recipient": event.recipient,
                 "cycle": event.cycle, "threshold_at": event.threshold_at.isoformat()},
    )  # fmt: skip
