"""Suggestion ratings reach the knowledge base; drift raises one model_drift alert per period; abstained tickets
that look alike are listed as a candidate new category."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from kb_index.knowledge_base import KnowledgeBase
from tests.fakes import FakeEncoder, fake_pipeline
from tests.integration.conftest import Api, service_settings
from triage.adapters.bootstrap import build_service
from triage.domain.access import Principal, scope_of
from triage.domain.alerts import AlertType
from triage.domain.ticket import Customer
from triage.kernel.vocabulary import Channel, Role
from triage.ports import AlertFilter, TicketFilter
from triage.services import drift, intake
from triage.services.processing import PipelineHolder, TriageProcessor, WorkerSettings

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 2, 2, tzinfo=UTC)
ADMIN = Principal("k-admin", Role.ADMIN, name="admin")


def test_helpful_votes_raise_the_articles_effectiveness_in_the_knowledge_base(api: Api) -> None:
    numbers = [api.submit("vpn drops", f"my vpn network connection drops {i}")["number"] for i in range(3)]
    for number in numbers:
        suggested = api.get(f"/api/v1/tickets/{number}").json()["triage"]["suggestions"]
        assert "kb-vpn" in [s["article_id"] for s in suggested]
        rated = api.post(f"/api/v1/tickets/{number}/suggestions/kb-vpn/feedback", "admin", json={"helpful": True})
        assert rated.status_code == 200 and rated.json()["counted"] is True
    again = api.post(f"/api/v1/tickets/{numbers[0]}/suggestions/kb-vpn/feedback", "admin", json={"helpful": True})
    assert again.json()["counted"] is False  # the same vote twice counts once
    wrong = api.post(f"/api/v1/tickets/{numbers[0]}/suggestions/kb-nope/feedback", "admin", json={"helpful": True})
    assert wrong.status_code == 422
    deadline = time.monotonic() + 10
    effectiveness = 0.5
    while time.monotonic() < deadline and effectiveness <= 0.5:
        effectiveness = KnowledgeBase.load(api.settings.resolved_kb_dir, FakeEncoder()).effectiveness("kb-vpn")
        time.sleep(0.2)
    assert effectiveness == pytest.approx((3 + 4 * 0.5) / (3 + 4))  # three votes over the prior of 0.5 x 4


def _triaged(service, texts: list[str]) -> PipelineHolder:  # noqa: ANN001
    holder = PipelineHolder(fake_pipeline())
    for i, text in enumerate(texts):
        intake.submit(service.start, intake.NewTicket(text, "", Channel.API, Customer(f"C{i}")), principal=ADMIN, now=T0)
    processor = TriageProcessor(service.start, holder, service.desk, worker_id="w", settings=WorkerSettings(),
                                clock=lambda: T0)  # fmt: skip
    while processor.run_once():
        pass
    return holder


def test_a_shift_in_confidence_raises_one_drift_alert_per_period(database_url: str, tmp_path: Path,
                                                                 always_on_config: Path) -> None:  # fmt: skip
    service = build_service(service_settings(tmp_path, database_url, always_on_config))
    holder = _triaged(service, [f"where is my invoice receipt {i}" for i in range(60)])
    pipeline = holder.current
    pipeline.classify.artifact.estimator.oof_confidence_ = np.random.default_rng(0).beta(30, 2, 2000)  # ~0.94
    alert = drift.check_if_due(service.start, pipeline, every=timedelta(days=1), now=T0)
    assert alert is not None and alert.type is AlertType.MODEL_DRIFT and alert.details["psi"] >= drift.PSI_ALERT
    assert drift.check_if_due(service.start, pipeline, every=timedelta(days=1), now=T0) is None
    with service.read() as uow:
        assert len(uow.alerts.list(AlertFilter(type=AlertType.MODEL_DRIFT), teams=None)) == 1
    service.stop()


def test_alike_abstained_tickets_are_listed_as_a_candidate_new_category(database_url: str, tmp_path: Path,
                                                                        always_on_config: Path) -> None:  # fmt: skip
    service = build_service(service_settings(tmp_path, database_url, always_on_config))
    texts = [f"the coffee machine on floor {i} leaks water" for i in range(4)] + ["hello there general musings"]
    holder = _triaged(service, texts)
    with service.read() as uow:
        page = uow.tickets.list(scope_of(ADMIN), TicketFilter(), cursor=None, limit=50, now=T0)
        abstained = [t for t in page.tickets if t.abstained]
    assert len(abstained) >= 4
    clusters = drift.new_topics(service.read, encoder_id=holder.current.encoder.id, now=T0, threshold=0.6)
    assert clusters and clusters[0].size >= 3 and all("coffee" in s for _, s in clusters[0].examples)
    assert not any("musings" in s for c in clusters for _, s in c.examples)
    service.stop()

