"""Drift and new topics: is the category model still seeing what it was trained on, and what fits nothing?

Once per period (one process per period, see :class:`~triage.ports.PeriodicRuns`) the check compares the last
day's category confidences with the model's own out-of-fold confidences at training time (population stability
index) and the share of out-of-scope tickets with what the scope model expects, and raises a ``model_drift``
alert when either shifts. Clusters of abstained tickets are listed as candidate new categories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from triage.domain.alerts import Alert, AlertType, Severity
from triage.engine.pipeline import TriagePipeline
from triage.ports import UnitOfWork
from triage.services.alerts import raise_alert

Start = Callable[[], UnitOfWork]
PSI_ALERT = 0.25  # the usual "significant shift" level of the population stability index
OOS_FACTOR = 5.0  # out-of-scope share this many times what training leaves out
MIN_TICKETS = 50


def population_stability_index(reference: np.ndarray, recent: np.ndarray, *, bins: int = 10) -> float:
    """PSI of ``recent`` against ``reference`` over the reference's decile bins (0: same, > 0.25: shifted)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    if len(edges) < 3:
        return 0.0
    edges[0], edges[-1] = -np.inf, np.inf
    expected = np.histogram(reference, edges)[0] / len(reference)
    actual = np.histogram(recent, edges)[0] / len(recent)
    expected, actual = np.clip(expected, 1e-4, None), np.clip(actual, 1e-4, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass(frozen=True)
class DriftReport:
    """What the check measured."""

    tickets: int
    mean_confidence: float | None
    reference_mean_confidence: float | None
    psi: float | None
    out_of_scope_share: float | None
    expected_out_of_scope: float
    model_version: str
    reasons: tuple[str, ...] = field(default=())

    @property
    def drifted(self) -> bool:
        return bool(self.reasons)


def measure(start: Start, pipeline: TriagePipeline, *, now: datetime, window: timedelta = timedelta(days=1)) -> DriftReport:
    """Compare the last ``window`` of category decisions with the model's training-time behaviour."""
    with start() as uow:
        decisions = uow.tickets.category_decisions(since=now - window, limit=20_000)
    artifact = pipeline.classify.artifact
    reference = getattr(artifact.estimator, "oof_confidence_", None)
    expected_oos = float(artifact.card.params.get("scope_quantile", 0.01) or 0.01)
    version = pipeline.classify.model_version
    if len(decisions) < MIN_TICKETS:
        return DriftReport(len(decisions), None, None, None, None, expected_oos, version)
    confidence = np.array([c for c, _ in decisions])
    oos = sum(1 for _, reason in decisions if reason == "out_of_scope") / len(decisions)
    psi = population_stability_index(np.asarray(reference), confidence) if reference is not None and len(reference) else None
    reasons = []
    if psi is not None and psi >= PSI_ALERT:
        reasons.append(f"confidence distribution shifted (PSI {psi:.2f} >= {PSI_ALERT})")
    if oos >= max(OOS_FACTOR * expected_oos, 0.05):
        reasons.append(f"{oos:.0%} of tickets look out of scope (training leaves out {expected_oos:.0%})")
    return DriftReport(
        tickets=len(decisions),
        mean_confidence=round(float(confidence.mean()), 4),
        reference_mean_confidence=round(float(np.mean(reference)), 4) if reference is not None else None,
        psi=round(psi, 4) if psi is not None else None,
        out_of_scope_share=round(oos, 4),
        expected_out_of_scope=expected_oos,
        model_version=version,
        reasons=tuple(reasons),
    )


def check_if_due(start: Start, pipeline: TriagePipeline, *, every: timedelta, now: datetime) -> Alert | None:
    """Run the check if no process ran it in the last ``every``; returns the ``model_drift`` alert it raised."""
    with start() as uow:
        due = uow.periodic.claim("drift-check", every=every, now=now)
        uow.commit()
    if not due:
        return None
    report = measure(start, pipeline, now=now)
    if not report.drifted:
        return None
    alert = Alert(
        type=AlertType.MODEL_DRIFT, severity=Severity.HIGH, created_at=now,
        reason=f"{report.model_version}: " + "; ".join(report.reasons),
        details={"tickets": report.tickets, "psi": report.psi, "mean_confidence": report.mean_confidence,
                 "reference_mean_confidence": report.reference_mean_confidence,
                 "out_of_scope_share": report.out_of_scope_share, "model_version": report.model_version},
    )  # fmt: skip
    with start() as uow:
        stored = raise_alert(uow, alert)
        uow.commit()
    return stored


@dataclass(frozen=True)
class TopicCluster:
    """Abstained tickets that look alike: a candidate new category."""

    size: int
    examples: tuple[tuple[str, str], ...]  # (number, subject)


def new_topics(start: Start, *, encoder_id: str, now: datetime, days: int = 7, threshold: float = 0.75,
               min_size: int = 3) -> list[TopicCluster]:  # fmt: skip
    """Clusters (greedy, cosine ≥ ``threshold`` to the cluster centroid) of the last ``days`` of abstained tickets."""
    with start() as uow:
        rows = uow.vectors.abstained(not_before=now - timedelta(days=days), encoder_id=encoder_id, limit=5_000)
    centroids: list[np.ndarray] = []
    members: list[list[tuple[str, str]]] = []
    for number, subject, raw in rows:
        vector = np.frombuffer(raw, dtype=np.float32)
        scores = [float(c @ vector) / (float(np.linalg.norm(c)) or 1.0) for c in centroids]
        best = int(np.argmax(scores)) if scores else -1
        if best >= 0 and scores[best] >= threshold:
            members[best].append((number, subject))
            centroids[best] = centroids[best] + vector
        else:
            centroids.append(vector.copy())
            members.append([(number, subject)])
    clusters = [TopicCluster(len(m), tuple(m[:5])) for m in members if len(m) >= min_size]
    return sorted(clusters, key=lambda c: -c.size)
