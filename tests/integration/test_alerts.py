"""Alerts end to end on a live server: SSE with resume, signed webhooks with retries and a dead letter, scoping,
and the alerts raised by triage (angry customer, repeat contact, possible incident, rising anger)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from bench.receiver import Receiver
from tests.integration.conftest import LiveApi

pytestmark = pytest.mark.integration
ANGRY = ("VPN DOWN AGAIN", "This is UNACCEPTABLE!! terrible worst service, my vpn network connection drops")


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _submit(server: LiveApi, key: str, subject: str, body: str, *, customer: str = "C-1", tier: str = "standard") -> dict:
    response = httpx.post(f"{server.url}/api/v1/tickets", headers=_auth(key), timeout=30,
                          json={"subject": subject, "body": body, "customer": {"id": customer, "tier": tier}})  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()


class SseReader:
    """Reads an SSE stream in a thread and keeps the events."""

    def __init__(self, url: str, key: str, last_event_id: str | None = None) -> None:
        self.events: list[dict] = []
        headers = {**_auth(key), **({"Last-Event-ID": last_event_id} if last_event_id else {})}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._consume(url, headers)
        except httpx.HTTPError:  # the server stops at the end of the test
            pass

    def _consume(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", f"{url}/api/v1/alerts/stream", headers=headers, timeout=None) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            event: dict[str, str] = {}
            for line in response.iter_lines():
                self._ready.set()
                if not line:
                    if "data" in event:
                        self.events.append({**event, "data": json.loads(event["data"])})
                    event = {}
                elif not line.startswith(":") and ":" in line:
                    name, _, value = line.partition(":")
                    event[name] = value.strip()

    def wait_for(self, predicate, timeout: float = 10) -> dict | None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((e for e in self.events if predicate(e)), None)
            if found:
                return found
            time.sleep(0.05)
        return None


def test_an_angry_ticket_reaches_the_stream_and_a_signed_webhook_and_other_teams_do_not_see_it(live) -> None:  # noqa: ANN001
    server, keys, _ = live
    receiver = Receiver("r" * 32).start()
    try:
        hook = httpx.post(f"{server.url}/api/v1/admin/webhooks", headers=_auth(keys["admin"]),
                          json={"url": receiver.url, "secret": "r" * 32, "events": ["angry_customer"]})  # fmt: skip
        assert hook.status_code == 201 and "secret" not in hook.json()
        tech, billing = SseReader(server.url, keys["tech_manager"]), SseReader(server.url, keys["billing_manager"])
        ticket = _submit(server, keys["intake"], *ANGRY)
        assert ticket["assignment"]["team"] == "tech" and ticket["triage"]["sentiment"]["anger"] >= 0.7
        event = tech.wait_for(lambda e: e["data"]["ticket"]["number"] == ticket["number"])
        assert event is not None and event["event"] == "angry_customer" and event["id"].isdigit()
        deadline = time.monotonic() + 10
        while not receiver.events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.rejected == 0 and receiver.events[0]["event"] == "angry_customer"
        assert receiver.events[0]["body"]["ticket"]["number"] == ticket["number"]
        assert receiver.events[0]["id"] == event["id"]
        time.sleep(0.5)
        assert all(e["data"]["ticket"]["team"] != "tech" for e in billing.events)
        resumed = SseReader(server.url, keys["tech_manager"], last_event_id=str(int(event["id"]) - 1))
        assert resumed.wait_for(lambda e: e["id"] == event["id"]) is not None
    finally:
        receiver.stop()


def test_alerts_are_listed_scoped_and_acknowledged(live) -> None:  # noqa: ANN001
    server, keys, _ = live
    ticket = _submit(server, keys["intake"], *ANGRY, tier="vip")
    listed = httpx.get(f"{server.url}/api/v1/alerts", headers=_auth(keys["tech_manager"]),
                       params={"ticket": ticket["number"]}).json()  # fmt: skip
    [alert] = [a for a in listed if a["type"] == "angry_customer"]
    assert alert["severity"] == "critical" and alert["tier"] == "vip" and alert["acknowledged_at"] is None
    assert httpx.get(f"{server.url}/api/v1/alerts", headers=_auth(keys["billing_manager"]),
                     params={"ticket": ticket["number"]}).json() == []  # fmt: skip
    other = httpx.post(f"{server.url}/api/v1/alerts/{alert['id']}/ack", headers=_auth(keys["billing_manager"]))
    assert other.status_code == 404
    assert httpx.get(f"{server.url}/api/v1/alerts", headers=_auth(keys["intake"])).status_code == 403
    acked = httpx.post(f"{server.url}/api/v1/alerts/{alert['id']}/ack", headers=_auth(keys["tech_manager"])).json()
    again = httpx.post(f"{server.url}/api/v1/alerts/{alert['id']}/ack", headers=_auth(keys["admin"])).json()
    assert acked["acknowledged_by"] == again["acknowledged_by"] == "manager:tech_manager"
    open_only = httpx.get(f"{server.url}/api/v1/alerts", headers=_auth(keys["admin"]), params={"acknowledged": "false"})
    assert alert["id"] not in [a["id"] for a in open_only.json()]
    assert httpx.get(f"{server.url}/api/v1/alerts", headers=_auth(keys["admin"]), params={"type": "coffee"}).status_code == 422


def test_a_date_the_databases_cannot_store_is_a_clear_422(live) -> None:  # noqa: ANN001
    server, keys, _ = live
    before_year_one = "0001-01-01T00:00:00+01:11"  # a fuzz finding: its UTC instant is in year 0
    for path, params in (("/api/v1/analytics", {"from": before_year_one, "to": "2026-01-01T00:00:00Z"}),
                         ("/api/v1/alerts", {"from": before_year_one}),
                         ("/api/v1/models/quality", {"since": "9999-12-31T23:00:00-05:00"})):  # fmt: skip
        answer = httpx.get(f"{server.url}{path}", headers=_auth(keys["admin"]), params=params)
        assert answer.status_code == 422 and "years 1-9999" in answer.text, (path, answer.text)


def test_a_dead_receiver_gets_retries_then_a_dead_letter_then_a_manual_redelivery(live) -> None:  # noqa: ANN001
    server, keys, settings = live
    receiver = Receiver("s" * 32)  # not started: nothing listens
    receiver.port = 1  # a closed port on loopback
    hook = httpx.post(f"{server.url}/api/v1/admin/webhooks", headers=_auth(keys["admin"]),
                      json={"url": receiver.url, "secret": "s" * 32, "events": ["angry_customer"]}).json()  # fmt: skip
    _submit(server, keys["intake"], *ANGRY)
    deadline = time.monotonic() + 20
    dead: list[dict] = []
    while time.monotonic() < deadline and not dead:
        dead = httpx.get(f"{server.url}/api/v1/admin/webhooks/deliveries", headers=_auth(keys["admin"]),
                         params={"state": "dead", "webhook": hook["id"]}).json()  # fmt: skip
        time.sleep(0.2)
    assert dead and dead[0]["attempts"] == settings.webhook_max_attempts and dead[0]["last_error"]
    for bad_url in ("ftp://x", "http://[", "http://host:99999/", "https://"):  # not http(s), malformed, no host
        assert httpx.post(f"{server.url}/api/v1/admin/webhooks", headers=_auth(keys["admin"]),
                          json={"url": bad_url, "secret": "s" * 32, "events": ["sla_breach"]}).status_code == 422  # fmt: skip


def test_repeat_contacts_bursts_and_rising_anger_raise_alerts(live) -> None:  # noqa: ANN001
    server, keys, _ = live
    text = ("Invoice missing", "where is my invoice receipt for order 4711")
    first = _submit(server, keys["intake"], *text, customer="C-7")
    again = _submit(server, keys["intake"], *text, customer="C-7")
    assert again["repeat_of"] == first["number"] and again["repeat_contacts"] == 1
    others = [_submit(server, keys["intake"], *text, customer=f"C-{i}") for i in (8, 9)]
    alerts = httpx.get(f"{server.url}/api/v1/alerts", headers=_auth(keys["admin"]), params={"order": "time"}).json()
    kinds = [(a["type"], a["ticket"]) for a in alerts]
    assert ("repeat_contact", again["number"]) in kinds
    incidents = [a for a in alerts if a["type"] == "possible_incident"]
    assert len(incidents) == 1 and incidents[0]["details"]["customers"] >= 3
    assert others[-1]["number"] in [incidents[0]["ticket"], *incidents[0]["related"]]
    calm = _submit(server, keys["intake"], "refund", "charged twice refund money back please", customer="C-20")
    for body in ("still waiting for the refund", "this is terrible, worst service", "UNACCEPTABLE!! I want my money NOW"):
        httpx.post(f"{server.url}/api/v1/tickets/{calm['number']}/messages", headers=_auth(keys["intake"]),
                   json={"kind": "customer", "body": body})  # fmt: skip
    deadline = time.monotonic() + 10
    angry = []
    while time.monotonic() < deadline and not angry:
        angry = httpx.get(f"{server.url}/api/v1/alerts", headers=_auth(keys["admin"]),
                          params={"ticket": calm["number"], "type": "angry_customer"}).json()  # fmt: skip
        time.sleep(0.1)
    assert angry, "anger rising across the customer's messages raised no alert"
    thread = httpx.get(f"{server.url}/api/v1/tickets/{calm['number']}", headers=_auth(keys["admin"])).json()["thread"]
    assert [m["kind"] for m in thread] == ["customer"] * 3

