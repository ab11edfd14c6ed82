"""The FastAPI application: ``create_app()`` wires the service, the routes and the error handlers.

Start-up opens the (migrated) database and loads the configuration at once, then loads the models in the
background: ``/healthz`` answers from the first second, ``/readyz`` turns 200 once the models, the knowledge base
and the database are ready, and API routes answer 503 until then.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import console, errors
from api.deps import KeyCache
from api.logging_setup import configure_logging
from api.metrics import ServiceMetrics
from api.middleware import ServiceMiddleware
from api.routes import admin, agents, alerts, analytics, health, tickets, triage
from api.waiters import TriageWaiters
from triage import __version__
from triage.adapters.bootstrap import Service, build_service, load_pipeline
from triage.config import Settings, configure_offline_environment, get_settings
from triage.domain.desk import RoutingConfig
from triage.engine.pipeline import StageObserver, TriagePipeline
from triage.kernel.clock import utc_now
from triage.kernel.errors import TriageError
from triage.services.worker import WorkerHooks

logger = logging.getLogger("triage.api")

#: Builds the serving pipeline; tests pass one that returns a pipeline of fakes.
PipelineFactory = Callable[[Settings, RoutingConfig, StageObserver], TriagePipeline]


def _default_pipeline(settings: Settings, desk: RoutingConfig, observer: StageObserver) -> TriagePipeline:
    return load_pipeline(settings, desk, observer=observer)


def create_app(
    settings: Settings | None = None,
    *,
    pipeline_factory: PipelineFactory = _default_pipeline,
    load_in_background: bool = True,
    configure_logs: bool = True,
) -> FastAPI:
    """The application. Uvicorn runs ``api.main:create_app`` as a factory (``triage serve``)."""
    configure_offline_environment()
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_format)
    metrics = ServiceMetrics()

    def load_models(app: FastAPI, service: Service) -> None:
        try:
            pipeline = pipeline_factory(settings, service.desk, metrics.observe_stage)
            service.start_background(pipeline, observer=metrics.observe_stage)
            metrics.serve_models(pipeline.model_versions)
            logger.info("ready", extra={"models": pipeline.model_versions})
        except TriageError as exc:
            app.state.startup_error = str(exc)
            logger.error("cannot serve: %s", exc)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        waiters = TriageWaiters(asyncio.get_running_loop())
        hooks = WorkerHooks(on_done=waiters.done, on_triaged=metrics.observe_triage,
                            on_alerts=metrics.observe_alerts, on_reload=metrics.serve_models)  # fmt: skip
        service = build_service(settings, hooks=hooks)  # an un-migrated or unreachable database stops start-up here

        def queue_depth() -> tuple[int, float]:
            with service.read() as uow:
                return uow.jobs.depth("triage", now=utc_now())

        metrics.watch_queue(queue_depth)
        try:
            service.start_mail(on_outcome=metrics.observe_mail)  # when TRIAGE_SMTP_PORT is set
        except TriageError:
            service.stop()
            raise
        app.state.service, app.state.waiters, app.state.startup_error = service, waiters, None
        if load_in_background:
            threading.Thread(target=load_models, args=(app, service), name="load-models", daemon=True).start()
        else:
            load_models(app, service)
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="Ticket triage service",
        version=__version__,
        description="Bilingual (EN/ZH) ticket intake, triage, routing and SLA. Every endpoint except "
        "`/healthz`, `/readyz` and the OpenAPI schema needs `Authorization: Bearer <key>`. The web console for "
        "people (sign-in with a username and password) is served at `/`.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.key_cache = KeyCache(settings.key_cache_seconds)
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    errors.install(app, pages=console.console_error)
    for module in (health, tickets, triage, alerts, analytics, agents, admin):
        app.include_router(module.router)
    console.install(app)
    return app
