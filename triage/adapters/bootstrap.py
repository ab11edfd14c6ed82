"""The composition root: from :class:`~triage.config.Settings` to a database, a configured help desk, the serving
pipeline, the micro-batcher and the background worker. The API, ``triage worker`` and the tests build the service
through here, so they are wired the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from triage.adapters.policy_file import load_routing_config
from triage.adapters.smtp import OutcomeObserver, SmtpListener
from triage.adapters.sql.engine import make_engine
from triage.adapters.sql.migrate import current_revision, head_revision
from triage.adapters.sql.unit_of_work import SqlUnitOfWork
from triage.adapters.webhook_http import HttpWebhookSender
from triage.config import Settings
from triage.domain.desk import RoutingConfig
from triage.engine.batching import MicroBatcher
from triage.engine.factory import build_pipeline, configured_versions
from triage.engine.pipeline import StageObserver, TriagePipeline
from triage.kernel.clock import utc_now
from triage.kernel.errors import NotReady
from triage.ports import UnitOfWork
from triage.services import mail
from triage.services.processing import PipelineHolder, WorkerSettings
from triage.services.webhooks import RetryPolicy
from triage.services.worker import Worker, WorkerConfig, WorkerHooks

logger = logging.getLogger(__name__)


def open_database(settings: Settings, *, require_migrated: bool = True) -> Engine:
    """The engine of ``settings.resolved_database_url``.

    Raises:
        NotReady: the database is unreachable, or (``require_migrated``) not at this release's schema revision.
    """
    url = settings.resolved_database_url
    engine = make_engine(url)
    if not require_migrated:
        return engine
    try:
        found = current_revision(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise NotReady(f"cannot reach the database {engine.url.render_as_string()}: {exc.__class__.__name__}: {exc}") from exc
    wanted = head_revision()
    if found != wanted:
        engine.dispose()
        state = "has never been migrated" if found is None else f"is at schema revision {found}"
        raise NotReady(
            f"the database {engine.url.render_as_string()} {state}, this release needs {wanted}; "
            "run `triage db upgrade` first"
        )
    return engine


def unit_of_work_factory(engine: Engine, *, read_only: bool = False) -> Callable[[], UnitOfWork]:
    """Opens a :class:`SqlUnitOfWork` on ``engine``."""

    def start() -> UnitOfWork:
        return SqlUnitOfWork(engine, read_only=read_only)

    return start


def load_desk(settings: Settings) -> RoutingConfig:
    """Teams, roster, routing policy with the taxonomy, calendars, SLA (``ConfigError`` names any problem)."""
    return load_routing_config(settings.routing_config_dir, taxonomy_file=settings.taxonomy_file)


def load_pipeline(settings: Settings, desk: RoutingConfig, *, observer: StageObserver | None = None,
                  encoder: object | None = None) -> TriagePipeline:  # fmt: skip
    """Load the models and the KB, and check the category model's labels against the taxonomy.

    Raises:
        ModelNotReady, ArtifactMismatch: a model cannot be served. ConfigError: labels without a route (policy
        ``error``).
    """
    pipeline = build_pipeline(settings, encoder=encoder, taxonomy=desk.taxonomy)  # type: ignore[arg-type]
    pipeline.observer = observer
    for warning in desk.taxonomy.check_labels(pipeline.classify.labels, source=pipeline.classify.model_version):
        logger.warning(warning)
    return pipeline


@dataclass
class Service:
    """Everything a running service holds. Built by :func:`build_service`, started by :meth:`start_background`."""

    settings: Settings
    engine: Engine
    desk: RoutingConfig
    start: Callable[[], UnitOfWork]
    read: Callable[[], UnitOfWork]
    holder: PipelineHolder | None = None
    batcher: MicroBatcher | None = None
    worker: Worker | None = None
    hooks: WorkerHooks = field(default_factory=WorkerHooks)
    mail_listener: SmtpListener | None = None

    @property
    def ready(self) -> bool:
        return self.holder is not None and self.batcher is not None

    def database_problem(self) -> str | None:
        """Why the database cannot be used right now, or ``None`` when a query goes through."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return f"database: {type(exc).__name__}"
        return None

    def start_background(self, pipeline: TriagePipeline, *, observer: StageObserver | None = None) -> None:
        """Serve ``pipeline``: start the micro-batcher and (unless ``worker_threads`` is 0) the worker."""
        settings = self.settings
        self.holder = PipelineHolder(pipeline)
        self.batcher = MicroBatcher(lambda: self.holder.current, max_batch=settings.batch_max,  # type: ignore[union-attr]
                                    max_wait=settings.batch_wait_ms / 1000).start()  # fmt: skip
        if settings.worker_threads == 0:
            return
        shared_encoder = pipeline.encoder.inner if pipeline.encoder is not None else None  # type: ignore[attr-defined]

        def rebuild() -> TriagePipeline:
            return load_pipeline(settings, self.desk, observer=observer, encoder=shared_encoder)

        config = WorkerConfig(
            triage_threads=settings.worker_threads,
            batch_wait=settings.batch_wait_ms / 1000,
            sweep_every=settings.sweep_seconds,
            reload_every=settings.reload_seconds,
            drift_every=settings.drift_hours * 3600,
            webhook_policy=RetryPolicy(base=timedelta(seconds=settings.webhook_retry_seconds),
                                       cap=timedelta(seconds=settings.webhook_retry_max_seconds),
                                       max_attempts=settings.webhook_max_attempts),
            settings=WorkerSettings(max_batch=settings.batch_max),
        )
        self.worker = Worker(self.start, self.desk, self.holder, settings.resolved_kb_dir, config=config,
                             build_pipeline=rebuild, model_versions=lambda: configured_versions(settings, self.desk.taxonomy),
                             hooks=self.hooks, webhook_sender=HttpWebhookSender()).start_threads()  # fmt: skip

    def receive_mail(self, raw: bytes, envelope_sender: str | None = None) -> mail.MailOutcome:
        """File one email (see :mod:`triage.services.mail`) and wake the worker for a new ticket's triage."""
        settings = self.settings
        policy = mail.MailPolicy(address=settings.smtp_address, max_attachment_bytes=settings.smtp_max_attachment_bytes)
        outcome = mail.receive(self.start, self.desk, raw, policy=policy, now=utc_now(), envelope_sender=envelope_sender)
        if outcome.action in (mail.MailAction.CREATED, mail.MailAction.FOLLOW_UP) and self.worker is not None:
            self.worker.wake()
        return outcome

    def start_mail(self, *, port: int | None = None, on_outcome: OutcomeObserver | None = None) -> SmtpListener | None:
        """Start the SMTP listener of the email channel on ``port`` (default ``TRIAGE_SMTP_PORT``; none: no listener).

        Mail is taken in before the models are loaded: its tickets wait in the triage queue.

        Raises:
            NotReady: the address cannot be bound.
        """
        settings = self.settings
        port = port or settings.smtp_port
        if port is None:
            return None
        self.mail_listener = SmtpListener(self.receive_mail, host=settings.smtp_host, port=port,
                                          domain=settings.smtp_domain, max_message_bytes=settings.smtp_max_message_bytes,
                                          on_outcome=on_outcome).start()  # fmt: skip
        return self.mail_listener

    def stop(self) -> None:
        """Graceful shutdown: stop taking email, finish the batch in flight, hand claimed jobs back, close the
        database."""
        if self.mail_listener is not None:
            self.mail_listener.stop()
        if self.worker is not None:
            handed_back = self.worker.stop()
            logger.info("worker stopped", extra={"jobs_handed_back": handed_back})
        if self.batcher is not None:
            self.batcher.stop()
        self.engine.dispose()


def build_service(settings: Settings, *, hooks: WorkerHooks | None = None) -> Service:
    """Open the (migrated) database and load the help-desk configuration; models are loaded separately.

    Raises:
        NotReady: database unreachable or not migrated. ConfigError: invalid configuration.
    """
    desk = load_desk(settings)
    engine = open_database(settings)
    return Service(settings=settings, engine=engine, desk=desk, start=unit_of_work_factory(engine),
                   read=unit_of_work_factory(engine, read_only=True), hooks=hooks or WorkerHooks())  # fmt: skip
