"""How long the console's pages take to render with a realistic amount of data (SQLite; PostgreSQL too when
``TRIAGE_BENCH_POSTGRES_URL`` or ``TRIAGE_TEST_POSTGRES_URL`` names a database this benchmark may fill).

Run: ``.venv/bin/python -m bench.bench_console [--tickets 2000 20000]``. Each size seeds that many tickets over the
last 14 days (demo texts, triaged by the deterministic fake pipeline of ``tests/fakes.py``: page rendering does not
depend on the models), resolves and rates a share of them, then requests each page in-process (no network) and
prints p50/p99 server time per page. The dashboard's time is dominated by its analytics queries over the period.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.main import create_app
from bench.bench_service import _postgres_url
from bench.harness import REPO, demo_texts
from tests.fakes import fake_pipeline
from triage.adapters.bootstrap import build_service
from triage.adapters.sql.engine import make_engine
from triage.adapters.sql.migrate import upgrade
from triage.config import Settings, configure_offline_environment
from triage.domain.access import Principal
from triage.domain.ticket import Customer
from triage.kernel.clock import utc_now
from triage.kernel.errors import TriageError
from triage.kernel.vocabulary import Channel, MessageKind, Role
from triage.services import intake, lifecycle
from triage.services.audit import SYSTEM
from triage.services.processing import PipelineHolder, TriageProcessor, WorkerSettings
from triage.services.users import create_user

ADMIN = Principal("bench-admin", Role.ADMIN, name="bench")
PASSWORD = "bench password 1"
REQUESTS = 30


def _seed(settings: Settings, tickets: int) -> str:
    """``tickets`` triaged tickets over 14 days, two thirds answered and resolved; returns an open one's number."""
    service = build_service(settings)
    rng, now, texts = random.Random(5), utc_now(), demo_texts()
    created = []
    for i in range(tickets):
        subject, _, body = texts[i % len(texts)].partition("\n")
        at = now - timedelta(days=rng.uniform(0.01, 13.9))
        ticket, _ = intake.submit(service.start, intake.NewTicket(subject, body, Channel.WEB, Customer(f"C-{i % 997}")),
                                  principal=ADMIN, now=at)  # fmt: skip
        created.append((ticket.id, at))
    processor = TriageProcessor(service.start, PipelineHolder(fake_pipeline()), service.desk, worker_id="bench",
                                settings=WorkerSettings(max_batch=64), clock=utc_now)  # fmt: skip
    while processor.run_once():
        pass
    open_one = created[-1][0]
    for number, at in created:
        if rng.random() < 0.33 or now - at < timedelta(hours=12):
            open_one = number
            continue
        try:
            lifecycle.add_message(service.start, service.desk, ADMIN, number, kind=MessageKind.REPLY, body="On it.",
                                  now=at + timedelta(minutes=30))  # fmt: skip
            lifecycle.resolve(service.start, service.desk, ADMIN, number, solution=None, now=at + timedelta(hours=5))
        except TriageError:
            continue
    create_user(service.start, service.desk, username="boss", password=PASSWORD, role=Role.MANAGER,
                teams=list(service.desk.teams), now=now, actor=SYSTEM)  # fmt: skip
    create_user(service.start, service.desk, username="agent", password=PASSWORD, role=Role.AGENT,
                agent_id="wang.lei", now=now, actor=SYSTEM)  # fmt: skip
    service.stop()
    return open_one


def _sign_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text


def _time(client: TestClient, path: str) -> tuple[float, float]:
    client.get(path)  # warm
    seconds = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return float(np.percentile(seconds, 50)) * 1000, float(np.percentile(seconds, 99)) * 1000


def run(backend: str, url: str, tickets: int, folder: Path) -> list[tuple[str, int, str, float, float]]:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(home=folder / "home", database_url=url, routing_config_dir=REPO / "config",
                        kb_dir=folder / "home" / "kb", worker_threads=0, log_format="text")  # fmt: skip
    number = _seed(settings, tickets)
    app = create_app(settings, pipeline_factory=lambda s, d, o: fake_pipeline(kb_dir=s.resolved_kb_dir),
                     load_in_background=False, configure_logs=False)  # fmt: skip
    rows = []
    with TestClient(app, base_url="https://bench") as client:
        _sign_in(client, "boss")
        for label, path in (("dashboard (14 days)", "/dashboard"), ("team queue", "/queue?view=team"),
                            ("ticket page", f"/tickets/{number}"), ("triage queue", "/triage")):  # fmt: skip
            rows.append((backend, tickets, label, *_time(client, path)))
        _sign_in(client, "agent")
        rows.append((backend, tickets, "agent's own queue", *_time(client, "/queue?view=mine")))
    return rows


def main(argv: list[str] | None = None) -> int:
    configure_offline_environment()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, nargs="+", default=[2000])
    args = parser.parse_args(argv)
    rows = []
    for tickets in args.tickets:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            rows += run("sqlite", f"sqlite:///{folder / 'bench.db'}", tickets, folder)
            postgres = _postgres_url()
            if postgres:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = make_engine(postgres)
                with admin.begin() as connection:
                    connection.execute(text(f'CREATE SCHEMA "{schema}"'))
                try:
                    sep = "&" if "?" in postgres else "?"
                    rows += run("postgresql", f"{postgres}{sep}options=-csearch_path%3D{schema}", tickets, folder / "pg")
                finally:
                    with admin.begin() as connection:
                        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    print("| database | tickets | page | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for backend, tickets, label, p50, p99 in rows:
        print(f"| {backend} | {tickets} | {label} | {p50:.1f} | {p99:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
