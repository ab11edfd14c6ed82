"""Escalations fire once per level and cycle: with concurrent sweeps, across restarts, not while paused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes import fake_pipeline
from tests.integration.conftest import service_settings
from triage.adapters.bootstrap import build_service
from triage.domain.access import Principal
from triage.domain.ticket import Customer
from triage.kernel.vocabulary import Channel, Role, TicketStatus, Tier
from triage.services import intake, lifecycle, sla
from triage.services.processing import PipelineHolder, TriageProcessor, WorkerSettings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
ADMIN = Principal("k-admin", Role.ADMIN, name="admin")


def _vip_outage(service, now: datetime) -> str:  # noqa: ANN001
    new = intake.NewTicket("Outage", "site is down for all users, everyone affected, outage", Channel.API,
                           Customer("C-1", Tier.VIP))  # fmt: skip
    ticket, _ = intake.submit(service.start, new, principal=ADMIN, now=now)
    processor = TriageProcessor(service.start, PipelineHolder(fake_pipeline()), service.desk, worker_id="w",
                                settings=WorkerSettings(), clock=lambda: now)  # fmt: skip
    assert processor.run_once() == 1
    return ticket.id


def _rules(service, number: str) -> list[str]:  # noqa: ANN001
    with service.read() as uow:
        return [e.rule for e in uow.sla.escalations(number)]


def test_each_level_fires_once_with_concurrent_sweeps_and_after_a_restart(database_url: str, tmp_path: Path,
                                                                         always_on_config: Path) -> None:  # fmt: skip
    settings = service_settings(tmp_path, database_url, always_on_config)
    service = build_service(settings)
    number = _vip_outage(service, T0)
    with service.read() as uow:
        ticket = uow.tickets.get(number)
    assert ticket is not None and ticket.priority == "P1"  # P1 VIP: 24x7, first response 30 min, resolution 4 h
    assert sla.sweep(service.start, service.desk, now=T0 + timedelta(minutes=10)) == []
    early = sla.sweep(service.start, service.desk, now=T0 + timedelta(minutes=31))
    assert [e.rule for e in early] == ["first-response-breach"]
    fired: list[str] = []
    barrier = threading.Barrier(4)

    def sweeper() -> None:
        barrier.wait()
        fired.extend(e.rule for e in sla.sweep(service.start, service.desk, now=T0 + timedelta(hours=5)))

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(fired) == ["breach-team-lead", "not-accepted-2h", "warn-assignee"]
    service.stop()
    restarted = build_service(settings)  # a new process: nothing in memory
    assert sla.sweep(restarted.start, restarted.desk, now=T0 + timedelta(hours=5, minutes=1)) == []
    late = sla.sweep(restarted.start, restarted.desk, now=T0 + timedelta(hours=8, minutes=1))
    assert [e.rule for e in late] == ["breach-director"]
    rules = _rules(restarted, number)
    assert sorted(rules) == sorted(set(rules)) and len(rules) == 5
    details = restarted.read
    with details() as uow:
        stored = uow.sla.get(number, restarted.desk.calendars)
        assert stored is not None and len(stored.fired) == 5
    restarted.stop()


def test_a_paused_clock_does_not_escalate_and_resumes_counting(database_url: str, tmp_path: Path,
                                                                always_on_config: Path) -> None:  # fmt: skip
    service = build_service(service_settings(tmp_path, database_url, always_on_config))
    number = _vip_outage(service, T0)
    lifecycle.change_status(service.start, service.desk, ADMIN, number, TicketStatus.IN_PROGRESS, now=T0 + timedelta(minutes=1))
    lifecycle.change_status(service.start, service.desk, ADMIN, number, TicketStatus.PENDING_CUSTOMER,
                            now=T0 + timedelta(minutes=2))  # fmt: skip
    assert sla.sweep(service.start, service.desk, now=T0 + timedelta(hours=10)) == []
    with service.read() as uow:
        assert uow.sla.due(T0 + timedelta(days=30), limit=10) == []  # nothing to look at while paused
    lifecycle.add_message(service.start, service.desk, ADMIN, number, kind=lifecycle.MessageKind.CUSTOMER,
                          body="any news?", now=T0 + timedelta(hours=10))  # fmt: skip
    later = sla.sweep(service.start, service.desk, now=T0 + timedelta(hours=13))
    assert "warn-assignee" in [e.rule for e in later]  # 2 min before the pause + 3 h after it > 75 % of 4 h
    service.stop()
