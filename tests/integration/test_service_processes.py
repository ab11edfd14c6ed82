"""Real ``triage serve`` processes on loopback with real (small) models: concurrency, kill -9 and scale-out."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bench.harness import ServerProcess, demo_texts, ticket_payload, triage_env
from tests.integration.conftest import BACKENDS, make_keys, new_database, service_settings
from triage.adapters.sql import tables as t
from triage.adapters.sql.engine import make_engine

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(params=BACKENDS)
def server_env(request: pytest.FixtureRequest, tmp_path: Path, served_models: dict[str, str],
               always_on_config: Path):  # noqa: ANN201
    url, cleanup = new_database(request.param, tmp_path)
    home = tmp_path / "home"
    settings = service_settings(home, url, always_on_config, **served_models)
    keys = make_keys(settings)
    env = triage_env(home=home, database_url=url, routing_config_dir=always_on_config, reload_seconds=0,
                     **served_models)  # fmt: skip
    yield env, keys, url, tmp_path
    cleanup()  # type: ignore[operator]


async def _post_all(url: str, key: str, payloads: list[dict], *, idempotency_key: str | None = None) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {key}", **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}
    limits = httpx.Limits(max_connections=len(payloads) + 10, max_keepalive_connections=len(payloads) + 10)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        return await asyncio.gather(*(client.post("/api/v1/tickets", json=p, headers=headers) for p in payloads))


def _wait_all_triaged(database_url: str, numbers: set[str], timeout: float = 120) -> dict[str, str]:
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            states = dict(connection.execute(select(t.tickets.c.number, t.tickets.c.triage_state)).all())
        if all(states.get(n) == "done" for n in numbers):
            break
        time.sleep(0.5)
    engine.dispose()
    return states


def test_200_concurrent_submissions_are_all_stored_triaged_and_routed(server_env) -> None:  # noqa: ANN001
    env, keys, url, tmp_path = server_env
    texts = demo_texts()
    with ServerProcess(env, log=tmp_path / "serve.log") as server:
        responses = asyncio.run(_post_all(server.url, keys["intake"], [ticket_payload(i, texts[i]) for i in range(200)]))
        assert [r.status_code for r in responses] == [201] * 200
        numbers = {r.json()["number"] for r in responses}
        assert len(numbers) == 200
        states = _wait_all_triaged(url, numbers)
    assert {states[n] for n in numbers} == {"done"}
    engine = make_engine(url)
    with engine.connect() as connection:
        unrouted = connection.execute(select(func.count()).select_from(t.tickets).where(t.tickets.c.team.is_(None))).scalar()
    engine.dispose()
    assert unrouted == 0


def test_50_concurrent_requests_with_one_idempotency_key_create_one_ticket(server_env) -> None:  # noqa: ANN001
    env, keys, url, tmp_path = server_env
    payload = ticket_payload(1, demo_texts()[0])
    with ServerProcess(env, log=tmp_path / "serve.log") as server:
        responses = asyncio.run(_post_all(server.url, keys["intake"], [payload] * 50, idempotency_key="retry-me"))
    codes = Counter(r.status_code for r in responses)
    assert codes[201] == 1 and codes[200] == 49, codes
    assert len({r.json()["number"] for r in responses}) == 1
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.tickets)).scalar() == 1
    engine.dispose()


def test_kill_9_mid_load_then_restart_loses_no_acknowledged_ticket(server_env) -> None:  # noqa: ANN001
    env, keys, url, tmp_path = server_env
    texts = demo_texts()
    acknowledged: list[str] = []
    stop = threading.Event()
    server = ServerProcess(env, log=tmp_path / "serve.log").start()

    def load(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            i = offset
            while not stop.is_set():
                try:
                    response = client.post("/api/v1/tickets", json=ticket_payload(i, texts[i % len(texts)]),
                                           headers={"Authorization": f"Bearer {keys['intake']}"})  # fmt: skip
                except httpx.HTTPError:
                    continue  # the server is gone: requests without an answer promise nothing
                if response.status_code in (200, 201):
                    acknowledged.append(response.json()["number"])
                i += 8

    threads = [threading.Thread(target=load, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60  # kill mid-load: once 30 tickets are acknowledged (slower on a busy machine)
    while len(acknowledged) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 30
    with ServerProcess(env, port=server.port, log=tmp_path / "serve-restarted.log"):
        states = _wait_all_triaged(url, set(acknowledged))
    assert all(states.get(n) == "done" for n in acknowledged), [n for n in acknowledged if states.get(n) != "done"]


@pytest.mark.postgres
def test_two_servers_on_one_postgres_triage_each_ticket_once_and_escalate_once(
    tmp_path: Path, served_models: dict[str, str], always_on_config: Path
) -> None:
    url, cleanup = new_database("postgres", tmp_path)
    try:
        config = tmp_path / "fast-sla"
        config.mkdir()
        for source in always_on_config.iterdir():
            text = source.read_text(encoding="utf-8")
            if source.name == "sla.toml":  # every clock on 24x7 with targets of seconds, so levels fall due now
                text = re.sub(r'calendar = "[^"]+"', 'calendar = "24x7"', text)
                text = re.sub(r'(first_response|resolution) = "[^"]+"', lambda m: f'{m.group(1)} = "0.004h"', text)
                text = re.sub(r'after = "[^"]+"', 'after = "0.003h"', text)
            (config / source.name).write_text(text, encoding="utf-8")
        settings = service_settings(tmp_path / "home", url, config, **served_models)
        keys = make_keys(settings)
        env = triage_env(home=tmp_path / "home", database_url=url, routing_config_dir=config, reload_seconds=0,
                         sweep_seconds=0.3, **served_models)  # fmt: skip
        texts = demo_texts()
        with ServerProcess(env, log=tmp_path / "a.log") as first, ServerProcess(env, log=tmp_path / "b.log") as second:
            payloads = [ticket_payload(i, texts[i]) for i in range(120)]
            responses = asyncio.run(_post_all(first.url, keys["intake"], payloads[::2]))
            responses += asyncio.run(_post_all(second.url, keys["intake"], payloads[1::2]))
            assert {r.status_code for r in responses} == {201}
            numbers = {r.json()["number"] for r in responses}
            assert {_wait_all_triaged(url, numbers)[n] for n in numbers} == {"done"}
            time.sleep(25)  # both servers sweep every 0.3 s while first-response and resolution targets pass
        engine = make_engine(url)
        with engine.connect() as connection:
            audit = connection.execute(select(t.audit_log.c.number, t.audit_log.c.action, t.audit_log.c.after)).all()
            escalations = connection.execute(select(t.escalations.c.number, t.escalations.c.rule)).all()
        engine.dispose()
        triaged = Counter(row.number for row in audit if row.action == "triaged")
        assert set(triaged) == numbers and set(triaged.values()) == {1}, "a ticket was triaged twice"
        fired = Counter((row.number, row.after["rule"], row.after["cycle"]) for row in audit if row.action == "escalated")
        assert fired and set(fired.values()) == {1}, "an escalation fired twice"
        assert len(escalations) == len(fired)
        assert {rule for _, rule in escalations} >= {"first-response-breach", "breach-team-lead"}
    finally:
        cleanup()  # type: ignore[operator]
