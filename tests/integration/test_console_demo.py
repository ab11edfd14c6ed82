"""Screenshots of the console on the demo data, with real models: the README shows these three.

Two weeks of demo tickets (written by this project, ``demo/tickets.csv``) are submitted with past creation times
and triaged by heads trained on the demo data; older ones were answered and resolved by agents, a few corrected,
and two angry VIPs write today. The test then checks what a manager and an agent see, and saves the dashboard, an
agent's queue and a ticket page under the screenshots folder (``docs/screenshots/`` holds copies).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

from api.main import create_app
from tests.integration.browser import create_users, screenshot, sign_in, submit
from tests.integration.conftest import REPO, LiveApi, make_keys, new_database, service_settings
from triage.adapters.bootstrap import build_service
from triage.domain.access import Principal
from triage.domain.ticket import Customer
from triage.kernel.clock import utc_now
from triage.kernel.errors import TriageError
from triage.kernel.vocabulary import Channel, MessageKind, Role
from triage.services import intake, lifecycle

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]
DAYS = 14
TICKETS = 160
ADMIN = Principal("demo-admin", Role.ADMIN, name="demo")
INTAKE = Principal("demo-intake", Role.INTAKE, name="web form")


def _seed_history(settings, server: LiveApi, key: str) -> None:  # noqa: ANN001
    """Past tickets, triaged by the live server's worker, then worked by agents at past times."""
    frame = pd.read_csv(REPO / "demo" / "tickets.csv", dtype=str, keep_default_na=False).sample(n=TICKETS, random_state=3)
    rng = random.Random(7)
    now = utc_now()
    service = build_service(settings)
    created = []
    for row in frame.itertuples():
        # Inside the dashboard's window at any hour: it starts at UTC midnight DAYS - 1 days back.
        at = now - timedelta(days=rng.uniform(0.2, DAYS - 1.5), hours=rng.uniform(0, 3))
        new = intake.NewTicket(subject=row.subject, body=row.body, channel=Channel(row.channel),
                               customer=Customer(row.customer_id, row.customer_tier))  # fmt: skip
        ticket, _ = intake.submit(service.start, new, principal=INTAKE, now=at)
        created.append((ticket.id, at))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pending = httpx.get(f"{server.url}/api/v1/tickets", params={"triage_state": "pending", "limit": 1},
                            headers={"Authorization": f"Bearer {key}"}, timeout=30).json()["tickets"]  # fmt: skip
        if not pending:
            break
        time.sleep(1)
    for number, at in sorted(created, key=lambda item: item[1]):
        age = now - at
        if age < timedelta(days=1) or rng.random() < 0.25:
            continue  # recent or still open: the backlog
        try:
            reply_at = at + timedelta(minutes=rng.uniform(10, 300))
            lifecycle.add_message(service.start, service.desk, ADMIN, number, kind=MessageKind.REPLY,
                                  body="Thanks, we are on it.", now=reply_at)  # fmt: skip
            if rng.random() < 0.08:
                lifecycle.classify(service.start, service.desk, ADMIN, number, category="repair/software", priority=None,
                                   now=reply_at + timedelta(minutes=5))  # fmt: skip
            resolved_at = min(reply_at + timedelta(hours=rng.uniform(1, 40)), now - timedelta(minutes=5))
            lifecycle.resolve(service.start, service.desk, ADMIN, number, solution=None, now=resolved_at)
            if rng.random() < 0.5:
                lifecycle.set_csat(service.start, ADMIN, number, score=rng.choice([3, 4, 5, 5]), now=resolved_at)
        except TriageError:
            continue  # e.g. a ticket the demo routed to a closed queue; the others tell the story
    service.stop()


@pytest.fixture
def demo_console(tmp_path: Path, always_on_config: Path, served_models: dict[str, str]) -> Iterator[tuple[LiveApi, dict]]:
    url, _ = new_database("sqlite", tmp_path)
    settings = service_settings(tmp_path / "home", url, always_on_config, triage_wait_seconds=10.0,
                                sweep_seconds=1.0, **served_models)  # fmt: skip
    keys = make_keys(settings)
    create_users(settings)
    app = create_app(settings, load_in_background=False, configure_logs=False)
    with LiveApi(app) as server:
        _seed_history(settings, server, keys["admin"])
        yield server, keys


def test_screenshots_of_the_console_on_the_demo_data(demo_console, browser) -> None:  # noqa: ANN001
    server, keys = demo_console
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
    manager = sign_in(context, server, "boss", width=1280)
    manager.wait_for_selector("#live-state[data-connected=true]")
    for subject, body in (("网络又断了!!!", "太过分了，VPN 一直断线，已经三天了，垃圾服务，再不解决就投诉！"),
                          ("Unacceptable outage", "The portal is DOWN for all our users again. This is the worst service, fix it NOW!")):  # fmt: skip
        submit(server, keys["intake"], subject, body, customer="C-VIP-1", tier="vip")
    manager.wait_for_selector("#alerts li.fresh", timeout=10_000)
    assert manager.locator("canvas#chart-backlog").count() == 1
    assert int(manager.locator(".kpis .kpi").first.inner_text()) >= TICKETS
    manager.wait_for_timeout(300)
    screenshot(manager, "demo-dashboard")

    agent_context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    agent = sign_in(agent_context, server, "wang.lei", width=1280)
    rows = agent.locator("table.queue tbody tr")
    assert rows.count() >= 1
    screenshot(agent, "demo-queue")
    agent.locator("a.ticket-link").first.click()
    agent.wait_for_selector("#triage-explanation")
    assert agent.locator("li.suggestion").count() >= 1
    screenshot(agent, "demo-ticket")

    for page, name in ((agent, "ticket"), (manager, "dashboard")):  # tablet width: nothing runs off the side
        page.set_viewport_size({"width": 768, "height": 1024})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 768, name
        screenshot(page, f"demo-{name}-tablet")
    context.close()
    agent_context.close()
