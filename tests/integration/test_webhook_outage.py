"""The outbox loses nothing: the receiver is down for 30 s and the server is killed and restarted meanwhile; once
the receiver is back, every event is delivered exactly once, and every signature verifies."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench.harness import ServerProcess, free_port, triage_env
from bench.receiver import Receiver
from tests.integration.conftest import make_keys, service_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ANGRY = {"subject": "NOTHING WORKS", "body": "This is UNACCEPTABLE!! terrible, worst service ever, vpn network down"}
DOWNTIME = 30.0


def test_every_event_is_delivered_once_after_an_outage_and_a_restart(
    database_url: str, tmp_path: Path, served_models: dict[str, str], always_on_config: Path
) -> None:
    home = tmp_path / "home"
    values = {"home": home, "database_url": database_url, "routing_config_dir": always_on_config, "reload_seconds": 0,
              "webhook_retry_seconds": 0.5, "webhook_retry_max_seconds": 3, "webhook_max_attempts": 50,
              **served_models}  # fmt: skip
    keys = make_keys(service_settings(home, database_url, always_on_config, **served_models))
    env = triage_env(**values)
    receiver = Receiver("w" * 32, port=free_port())  # its port stays closed until the receiver comes back
    down_since = time.monotonic()
    server = ServerProcess(env, log=tmp_path / "first.log").start()
    admin, intake = {"Authorization": f"Bearer {keys['admin']}"}, {"Authorization": f"Bearer {keys['intake']}"}
    hook = httpx.post(f"{server.url}/api/v1/admin/webhooks", headers=admin, timeout=10,
                      json={"url": receiver.url, "secret": "w" * 32, "events": ["angry_customer"]})  # fmt: skip
    assert hook.status_code == 201
    numbers = []
    for i in range(20):
        response = httpx.post(f"{server.url}/api/v1/tickets", headers=intake, timeout=30,
                              json={**ANGRY, "customer": {"id": f"C-{i}"}})  # fmt: skip
        assert response.status_code == 201
        numbers.append(response.json()["number"])
    time.sleep(3)
    server.kill()  # kill -9 in the middle of the outage, with deliveries pending and some mid-retry
    server = ServerProcess(env, port=server.port, log=tmp_path / "second.log").start()
    time.sleep(max(0.0, DOWNTIME - (time.monotonic() - down_since)))
    receiver.start()
    try:
        deadline = time.monotonic() + 60
        pending: list[dict] = [{}]
        while time.monotonic() < deadline and pending:
            time.sleep(0.5)
            pending = httpx.get(f"{server.url}/api/v1/admin/webhooks/deliveries", headers=admin,
                                params={"state": "pending"}).json()  # fmt: skip
        alerts = httpx.get(f"{server.url}/api/v1/alerts", headers=admin, params={"type": "angry_customer", "limit": 500}).json()
        delivered = httpx.get(f"{server.url}/api/v1/admin/webhooks/deliveries", headers=admin,
                              params={"state": "delivered", "limit": 500}).json()  # fmt: skip
    finally:
        server.stop()
        receiver.stop()
    assert not pending, "some deliveries never went out"
    assert {a["ticket"] for a in alerts} == set(numbers)
    received = Counter(receiver.ids())
    assert set(received) == {str(a["id"]) for a in alerts}, "an event was lost"
    assert set(received.values()) == {1}, f"an event was delivered twice: {received}"
    assert receiver.rejected == 0 and all(d["attempts"] > 1 for d in delivered)
