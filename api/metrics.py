"""Prometheus metrics of one service process: requests, triage stages, the queue, abstentions, escalations, email."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from triage.domain.alerts import Alert
from triage.engine.results import TriageResult

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _QueueCollector(Collector):
    """Queue depth and the age of the oldest queued job, read from the database at scrape time."""

    def __init__(self, depth: Callable[[], tuple[int, float]]) -> None:
        self.depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count, oldest = self.depth()
        except Exception:  # noqa: BLE001 - a scrape during a database outage reports nothing rather than failing
            return
        yield GaugeMetricFamily("triage_queue_depth", "Triage jobs queued or running.", value=count)
        yield GaugeMetricFamily("triage_queue_oldest_seconds", "Age of the oldest queued triage job.", value=oldest)


class ServiceMetrics:
    """The process's metrics in their own registry (so several apps can live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Histogram("triage_http_request_seconds", "HTTP request latency.", ["method", "route", "status"],
                                  buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.stages = Histogram("triage_stage_seconds", "Time of each triage stage per batch.", ["stage"],
                                buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.batch_size = Histogram("triage_batch_size", "Texts per pipeline call.", buckets=(1, 2, 4, 8, 16, 32, 64),
                                    registry=r)  # fmt: skip
        self.triaged = Counter("triage_tickets_triaged_total", "Tickets triaged.", registry=r)
        self.abstained = Counter("triage_tickets_abstained_total", "Tickets whose category abstained.", registry=r)
        self.abstain_rate = Gauge("triage_abstain_rate", "Share of the last 500 triaged tickets that abstained.",
                                  registry=r)  # fmt: skip
        self.alerts = Counter("triage_alerts_fired_total", "Alerts and escalations fired.", ["type"], registry=r)
        self.emails = Counter("triage_emails_received_total", "Emails received by the SMTP listener, by outcome "
                              "(created, replied, follow_up, duplicate, ignored, rejected, deferred).", ["outcome"],
                              registry=r)  # fmt: skip
        self.models = Gauge("triage_model_info", "Model versions being served (value 1).", ["task", "version"],
                            registry=r)  # fmt: skip
        self._recent: deque[bool] = deque(maxlen=500)

    def watch_queue(self, depth: Callable[[], tuple[int, float]]) -> None:
        self.registry.register(_QueueCollector(depth))

    def observe_stage(self, stage: str, seconds: float, size: int) -> None:
        self.stages.labels(stage).observe(seconds)
        if stage == "encode":
            self.batch_size.observe(size)

    def observe_triage(self, result: TriageResult) -> None:
        self.triaged.inc()
        abstained = result.category.abstained
        if abstained:
            self.abstained.inc()
        self._recent.append(abstained)
        self.abstain_rate.set(sum(self._recent) / len(self._recent))

    def observe_alerts(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.alerts.labels(alert.type.value).inc()

    def observe_mail(self, outcome: str) -> None:
        self.emails.labels(outcome).inc()

    def serve_models(self, versions: dict[str, str]) -> None:
        self.models.clear()
        for task, version in versions.items():
            self.models.labels(task, version).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
