"""Databases, configuration and a running app for the service tests, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.main import create_app
from bench.harness import free_port, prepare_models, wait_ready
from tests.fakes import fake_pipeline
from triage import config
from triage.adapters.bootstrap import build_service
from triage.adapters.sql.engine import make_engine
from triage.adapters.sql.migrate import upgrade
from triage.config import Settings, get_settings
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import Role
from triage.services.audit import SYSTEM
from triage.services.keys import create_key

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("TRIAGE_TEST_CHROMIUM", "/usr/bin/chromium"))
#: Headless, offline, no sandbox (containers), no GPU, no background downloads or updates.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
POSTGRES_URL = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def served_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Real heads, trained once per session on half the demo tickets with the USE encoder (fast to load), as
    settings that point a service at them."""
    return prepare_models(tmp_path_factory.mktemp("served-models"), encoder_name="use", sample=0.5)


@pytest.fixture(scope="session")
def always_on_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped configuration with every agent always online (no shifts), so routing does not depend on the hour."""
    folder = tmp_path_factory.mktemp("config")
    shutil.copytree(REPO / "config", folder, dirs_exist_ok=True)
    agents = folder / "agents.toml"
    agents.write_text(re.sub(r"^shifts = .*$", "", agents.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")
    return folder


#: Every CLI module (each command's module reads settings through its own ``get_settings`` name).
CLI_MODULES = tuple(f"triage.cli.{m.name}" for m in pkgutil.iter_modules([str(REPO / "triage" / "cli")]))


def use_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Make ``triage`` commands run in-process read ``settings``.

    The CLI modules are imported before ``config.get_settings`` is patched: a module first imported under the patch
    would bind the lambda, and the monkeypatch would restore that lambda after the test (a later test's command
    then reads this test's home).
    """
    for module in CLI_MODULES:
        importlib.import_module(module)
    monkeypatch.setattr(config, "get_settings", lambda: settings)
    for module in CLI_MODULES:
        if hasattr(sys.modules[module], "get_settings"):
            monkeypatch.setattr(f"{module}.get_settings", lambda: settings)


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, always_on_config: Path) -> Iterator[Path]:
    """An empty ``TRIAGE_HOME`` (SQLite) with the always-on configuration, for commands run through the CLI."""
    monkeypatch.setenv("TRIAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRIAGE_ROUTING_CONFIG_DIR", str(always_on_config))
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def new_database(backend: str, folder: Path) -> tuple[str, object]:
    """A fresh, migrated database; returns its URL and a cleanup callable."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'triage-{uuid.uuid4().hex[:8]}.db'}"
        cleanup = lambda: None  # noqa: E731
    else:
        if not POSTGRES_URL:
            pytest.skip("set TRIAGE_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@localhost/triage_test) to run")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url, cleanup


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, cleanup = new_database(request.param, tmp_path)
    yield url
    cleanup()  # type: ignore[operator]


def service_settings(home: Path, database_url: str, config: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home, "database_url": database_url, "routing_config_dir": config, "kb_dir": home / "kb",
        "sweep_seconds": 0.2, "reload_seconds": 0, "triage_wait_seconds": 5.0, "key_cache_seconds": 0,
        "log_format": "text",
    }  # fmt: skip
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def fake_pipeline_factory(settings: Settings, _desk: object, observer: object) -> object:
    pipeline = fake_pipeline(kb_dir=settings.resolved_kb_dir)
    pipeline.observer = observer  # type: ignore[assignment]
    return pipeline


class Api:
    """A TestClient with a key per role."""

    def __init__(self, client: TestClient, keys: dict[str, str], settings: Settings) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def post(self, path: str, who: str = "intake", **kwargs: object):  # noqa: ANN201
        return self.client.post(path, headers={**self.headers(who), **kwargs.pop("headers", {})}, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, who: str = "admin", **kwargs: object):  # noqa: ANN201
        return self.client.get(path, headers=self.headers(who), **kwargs)  # type: ignore[arg-type]

    def submit(self, subject: str, body: str = "", who: str = "intake", **fields: object) -> dict:
        payload = {"subject": subject, "body": body, "customer": {"id": fields.pop("customer", "C-1"),
                   "tier": fields.pop("tier", "standard")}, **fields}  # fmt: skip
        response = self.post("/api/v1/tickets", who, json=payload)
        assert response.status_code == 201, response.text
        return response.json()


#: Keys created for every API test: role -> (teams, agent).
KEY_SPECS = {
    "intake": (Role.INTAKE, [], None),
    "intake2": (Role.INTAKE, [], None),
    "admin": (Role.ADMIN, [], None),
    "tech_manager": (Role.MANAGER, ["tech"], None),
    "billing_manager": (Role.MANAGER, ["billing"], None),
    "tech_agent": (Role.AGENT, [], "tom.baker"),
    "billing_agent": (Role.AGENT, [], "anna.kurz"),
}


def make_keys(settings: Settings) -> dict[str, str]:
    service = build_service(settings)
    try:
        return {
            who: create_key(service.start, service.desk, role=role, name=who, teams=teams, agent_id=agent,
                            now=utc_now(), actor=SYSTEM)[0]
            for who, (role, teams, agent) in KEY_SPECS.items()
        }  # fmt: skip
    finally:
        service.stop()


@pytest.fixture
def api(database_url: str, tmp_path: Path, always_on_config: Path) -> Iterator[Api]:
    settings = service_settings(tmp_path / "home", database_url, always_on_config)
    keys = make_keys(settings)
    app = create_app(settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with TestClient(app) as client:
        yield Api(client, keys, settings)


class LiveApi:
    """A real uvicorn server on 127.0.0.1 (in this process) around the app, for streaming and webhook tests."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveApi:
        self.thread.start()
        if not wait_ready(self.url, timeout=60):
            raise TimeoutError("the live API did not become ready")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def live(database_url: str, tmp_path: Path, always_on_config: Path) -> Iterator[tuple[LiveApi, dict[str, str], Settings]]:
    """A live server with a pipeline of fakes, quick sweeps and quick webhook retries, plus a key per role."""
    settings = service_settings(tmp_path / "home", database_url, always_on_config, triage_wait_seconds=3.0,
                                webhook_retry_seconds=0.2, webhook_max_attempts=4)  # fmt: skip
    keys = make_keys(settings)
    app = create_app(settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with LiveApi(app) as server:
        yield server, keys, settings


def require_chromium() -> None:
    """Skip without Debian's chromium on a developer's machine; in CI (``CI=true``) a missing browser fails."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`; .ci/run does) "
                    "or set TRIAGE_TEST_CHROMIUM; these tests never download a browser")  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium, headless, driven by Playwright's sync API (``playwright install`` is never run).

    Module-scoped: the sync API keeps an event loop running in the main thread while it is open, and later
    modules call ``asyncio.run``.
    """
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
