"""The background worker: threads that triage queued tickets, fire escalations, file solutions in the knowledge
base and hot-reload models. ``triage serve`` runs one inside the API process; ``triage worker`` runs one alone.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from triage.domain.alerts import Alert
from triage.domain.desk import RoutingConfig
from triage.engine.pipeline import TriagePipeline
from triage.engine.results import TriageResult
from triage.kernel.clock import utc_now
from triage.ports import UnitOfWork, WebhookSender
from triage.services import drift, sla
from triage.services.processing import KnowledgeIngest, PipelineHolder, TriageProcessor, WorkerSettings
from triage.services.webhooks import RetryPolicy, WebhookDispatcher

logger = logging.getLogger(__name__)


@dataclass
class WorkerHooks:
    """What the worker tells the outside (metrics, waiting requests). Every hook is optional."""

    on_done: Callable[[list[str]], None] = lambda numbers: None
    on_triaged: Callable[[TriageResult], None] = lambda result: None
    on_reload: Callable[[dict[str, str]], None] = lambda versions: None
    on_alerts: Callable[[list[Alert]], None] = lambda alerts: None


@dataclass
class WorkerConfig:
    """Timing of the worker's loops."""

    triage_threads: int = 1
    batch_wait: float = 0.005  # after the first job appears, wait this long for more (micro-batching)
    poll: float = 0.5  # how often an idle triage loop looks for work queued by other processes
    sweep_every: float = 10.0  # escalation sweep period
    kb_every: float = 1.0  # solution filing and KB snapshot check period
    reload_every: float = 30.0  # model registry check period (0 disables hot reload)
    webhooks_every: float = 0.5  # outbox check period
    drift_every: float = 24 * 3600.0  # drift and new-topic check period (one process runs it per period)
    webhook_policy: RetryPolicy = field(default_factory=RetryPolicy)
    settings: WorkerSettings = field(default_factory=WorkerSettings)


class Worker:
    """Runs the background loops until :meth:`stop`.

    Args:
        start: Opens a unit of work.
        desk: Roster, policy, taxonomy, SLA.
        holder: The serving pipeline (swapped on hot reload).
        kb_dir: The knowledge-base snapshot folder.
        config: Loop timing, batch size, retries.
        build_pipeline: Builds a fresh pipeline (hot reload); ``None`` disables reloading.
        model_versions: The versions the configured model URIs point at now (cheap to call).
        hooks: Callbacks for metrics and waiting requests.
        clock: The current instant.
    """

    def __init__(
        self,
        start: Callable[[], UnitOfWork],
        desk: RoutingConfig,
        holder: PipelineHolder,
        kb_dir: Path,
        *,
        config: WorkerConfig | None = None,
        build_pipeline: Callable[[], TriagePipeline] | None = None,
        model_versions: Callable[[], dict[str, str]] | None = None,
        hooks: WorkerHooks | None = None,
        clock: Callable[[], datetime] = utc_now,
        webhook_sender: WebhookSender | None = None,
    ) -> None:
        self.start = start
        self.desk = desk
        self.holder = holder
        self.config = config or WorkerConfig()
        self.hooks = hooks or WorkerHooks()
        self.clock = clock
        self.worker_id = f"worker-{uuid.uuid4().hex[:10]}"
        self._build = build_pipeline
        self._versions = model_versions
        self.processor = TriageProcessor(start, holder, desk, worker_id=self.worker_id, settings=self.config.settings,
                                         clock=clock, on_done=self.hooks.on_done, on_triaged=self.hooks.on_triaged,
                                         on_alerts=self._alerts_raised)  # fmt: skip
        self.ingest = KnowledgeIngest(start, holder, kb_dir, worker_id=self.worker_id, clock=clock)
        self.dispatcher = (WebhookDispatcher(start, webhook_sender, worker_id=self.worker_id, clock=clock,
                                             policy=self.config.webhook_policy)
                           if webhook_sender is not None else None)  # fmt: skip
        self._wake = threading.Event()
        self._deliver = threading.Event()  # an alert was raised here: send its webhooks now, not at the next poll
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start_threads(self) -> Worker:
        """Start every loop (idempotent)."""
        if self._threads:
            return self
        loops: list[tuple[str, Callable[[], None]]] = [
            (f"triage-{i}", self._triage_loop) for i in range(self.config.triage_threads)
        ]
        loops += [("sla-sweep", self._sweep_loop), ("kb", self._kb_loop), ("drift", self._drift_loop)]
        if self.dispatcher is not None:
            loops.append(("webhooks", self._webhook_loop))
        if self._build is not None and self._versions is not None and self.config.reload_every > 0:
            loops.append(("model-reload", self._reload_loop))
        for name, target in loops:
            thread = threading.Thread(target=self._guarded(target), name=f"{self.worker_id}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self) -> None:
        """New work was queued: the triage loop starts its next batch after a few milliseconds."""
        self._wake.set()

    def stop(self, *, timeout: float = 30.0) -> int:
        """Stop the loops: the batch in flight finishes; jobs still claimed go back to the queue.

        Returns:
            How many jobs were handed back.
        """
        self._stopping.set()
        self._wake.set()
        self._deliver.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        return self.processor.release()

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._stopping.is_set()

    def _guarded(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self._stopping.is_set():
                try:
                    loop()
                    return
                except Exception:  # a database outage must not kill the worker: log, back off, go on
                    logger.exception("worker loop failed; retrying in 2 s", extra={"worker": self.worker_id})
                    self._stopping.wait(2.0)

        return run

    def _triage_loop(self) -> None:
        full = self.config.settings.max_batch
        while not self._stopping.is_set():
            if self._wake.wait(self.config.poll):
                self._wake.clear()
                time.sleep(self.config.batch_wait)
            while not self._stopping.is_set() and self.processor.run_once() == full:
                pass
            self.processor.run_messages_once()

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.config.sweep_every):
            sla.sweep(self.start, self.desk, now=self.clock(), on_alerts=self._alerts_raised)

    def _kb_loop(self) -> None:
        while not self._stopping.wait(self.config.kb_every):
            self.ingest.run_once()
            self.ingest.refresh()

    def _alerts_raised(self, alerts: list[Alert]) -> None:
        self._deliver.set()
        self.hooks.on_alerts(alerts)

    def _webhook_loop(self) -> None:
        assert self.dispatcher is not None
        while not self._stopping.is_set():
            self._deliver.wait(self.config.webhooks_every)
            self._deliver.clear()
            while self.dispatcher.run_once() and not self._stopping.is_set():
                pass

    def _drift_loop(self) -> None:
        every = timedelta(seconds=self.config.drift_every)
        while not self._stopping.wait(min(self.config.drift_every, 600.0)):
            alert = drift.check_if_due(self.start, self.holder.current, every=every, now=self.clock())
            if alert is not None:
                self._alerts_raised([alert])

    def _reload_loop(self) -> None:
        assert self._build is not None and self._versions is not None
        while not self._stopping.wait(self.config.reload_every):
            wanted = self._versions()
            if wanted != self.holder.current.model_versions:
                logger.info("models changed; reloading", extra={"from": self.holder.current.model_versions, "to": wanted})
                self.holder.swap(self._build())
                self.hooks.on_reload(self.holder.current.model_versions)

