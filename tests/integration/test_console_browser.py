"""The web console end to end in headless Chromium (Debian's ``chromium``, driven by Playwright).

A live server with a pipeline of fakes: a manager watches an angry ticket arrive on the dashboard without a reload,
an agent works the top ticket of their queue from suggestion to solution, another team's ticket is a 404, hostile
ticket text stays text, and the interface switches to Chinese and back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from tests.integration.browser import create_users, screenshot, sign_in, submit
from tests.integration.conftest import LiveApi, fake_pipeline_factory, make_keys, new_database, service_settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ANGRY = ("VPN DOWN AGAIN", "This is UNACCEPTABLE!! terrible worst service, my vpn network connection drops")
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def console(tmp_path: Path, always_on_config: Path) -> Iterator[tuple[LiveApi, dict[str, str]]]:
    """A live server (SQLite, fake models) with API keys and console users. Cookies are Secure: Chromium accepts
    them on http://127.0.0.1, a potentially trustworthy origin."""
    url, _ = new_database("sqlite", tmp_path)
    settings = service_settings(tmp_path / "home", url, always_on_config, triage_wait_seconds=3.0)
    keys = make_keys(settings)
    create_users(settings)
    app = create_app(settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with LiveApi(app) as server:
        yield server, keys


@pytest.fixture
def context(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(locale="en-US", timezone_id="Europe/Berlin")
    yield context
    context.close()


def _api(server: LiveApi, key: str, method: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_an_angry_ticket_appears_on_the_open_dashboard_within_two_seconds_without_a_reload(console, context) -> None:  # noqa: ANN001
    server, keys = console
    problems: list[str] = []
    context.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page = sign_in(context, server, "boss")
    assert page.url.endswith("/dashboard")  # the manager's landing page
    page.wait_for_selector("#live-state[data-connected=true]", timeout=10_000)
    page.evaluate("window.__sameDocument = 'yes'")
    started = time.monotonic()
    ticket = submit(server, keys["intake"], *ANGRY, tier="vip")
    alert = page.locator("#alerts li", has=page.locator(f"a.ticket:text-is('{ticket['number']}')"))
    alert.first.wait_for(timeout=2_000)
    elapsed = time.monotonic() - started
    print(f"alert on the dashboard {elapsed:.2f} s after the POST started")  # pytest -s shows it
    assert elapsed <= 2.0, f"the alert took {elapsed:.2f} s"
    assert page.evaluate("window.__sameDocument") == "yes"  # no reload happened
    assert "Angry customer" in alert.first.inner_text() and "Critical" in alert.first.inner_text()
    assert page.locator("canvas#chart-backlog").bounding_box()["height"] > 100  # Chart.js drew under the CSP
    assert problems == []  # no Content-Security-Policy violation, no script error
    screenshot(page, "dashboard-live-alert")

    alert.first.locator("form.ack button").click()
    page.wait_for_selector(f"#alerts li.acknowledged >> a.ticket:text-is('{ticket['number']}')")
    listed = _api(server, keys["tech_manager"], "GET", "/api/v1/alerts", params={"ticket": ticket["number"]}).json()
    angry = next(a for a in listed if a["type"] == "angry_customer")
    assert angry["acknowledged_by"] == "manager:boss"
    alert.first.locator("a.ticket").click()
    page.wait_for_url(f"**/tickets/{ticket['number']}")
    assert page.locator("#ticket-subject").inner_text() == ANGRY[0]


def test_an_agent_works_the_top_ticket_from_suggestion_to_solution(console, context) -> None:  # noqa: ANN001
    server, keys = console
    submit(server, keys["intake"], "Invoice question", "where is my invoice receipt", customer="C-7")
    ticket = submit(server, keys["intake"], "VPN keeps dropping", "my vpn network connection drops every hour")
    agent = ticket["assignment"]["agent_id"]
    assert agent is not None, ticket["assignment"]
    page = sign_in(context, server, agent)
    assert page.url.endswith("/queue")
    top = page.locator("table.queue tbody tr").first.get_attribute("data-number")
    page.keyboard.press("j")  # keyboard navigation: focus the first ticket, Enter opens it
    assert page.evaluate("document.activeElement.textContent") == top
    screenshot(page, "queue")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/tickets/{top}")
    number = top

    first = page.locator("li.suggestion").first
    article = first.get_attribute("data-article")
    snippet = first.locator(".snippet").inner_text().strip()
    first.locator("button.insert").click()
    assert snippet in page.input_value("#reply-body")
    screenshot(page, "ticket")
    page.click("#send-reply")
    page.wait_for_selector(".flash.ok")
    assert snippet in page.locator("li.message.kind-reply .body").last.inner_text()

    page.locator("li.suggestion").first.locator("button.vote-up").click()
    page.wait_for_selector("li.suggestion >> nth=0 >> button.vote-up[aria-pressed=true]")

    current = _api(server, keys["admin"], "GET", f"/api/v1/tickets/{number}").json()["category"]
    corrected = next(v for v in page.eval_on_selector_all("#correct-category option", "os => os.map(o => o.value)")
                     if v != current)  # fmt: skip
    page.select_option("#correct-category", corrected)
    page.click("#save-correction")
    page.wait_for_selector(".flash.ok")
    assert page.locator(f"li.suggestion[data-article='{article}'] button.vote-up").get_attribute("aria-pressed") == "true"

    solution = f"Reinstalled VPN client 5.2 with split tunnelling zebra-{number}"
    page.fill("#solution", solution)
    page.click("#resolve")
    page.wait_for_selector(".badge.status-resolved")

    audit = _api(server, keys["admin"], "GET", f"/api/v1/tickets/{number}/audit").json()
    rated = [e for e in audit if e["action"] == "suggestion-rated"]
    assert rated and rated[0]["after"] == {"article_id": article, "helpful": True} and rated[0]["actor"] == f"agent:{agent}"
    assert any(e["action"] == "classified" and e["after"]["category"] == corrected for e in audit)
    quality = _api(server, keys["admin"], "GET", "/api/v1/models/quality").json()
    assert sum(m["corrected"] for m in quality["models"] if m["task"] == "category") == 1
    found, deadline = [], time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        triage = _api(server, keys["intake"], "POST", "/api/v1/triage", json={"subject": solution}).json()["triage"]
        found = [s for s in triage["suggestions"] if s["article_id"] == f"ticket-{number}"]
        time.sleep(0.2)
    assert found and found[0]["source"] == "ticket"  # the solution is a knowledge-base entry


def test_an_agent_opening_another_teams_ticket_gets_the_404_page(console, context) -> None:  # noqa: ANN001
    server, keys = console
    ticket = submit(server, keys["intake"], *ANGRY)
    assert ticket["assignment"]["team"] == "tech"
    page = sign_in(context, server, "anna")  # billing
    response = page.goto(f"{server.url}/tickets/{ticket['number']}")
    assert response.status == 404
    assert page.locator(".error-page h1").inner_text().endswith("Not found")
    assert ANGRY[0] not in page.content()
    own = page.goto(f"{server.url}/tickets/{submit(server, keys['intake'], 'refund', 'charged twice refund money back')['number']}")
    assert own.status == 200


def test_hostile_ticket_text_renders_as_text_and_runs_nothing(console, context) -> None:  # noqa: ANN001
    server, keys = console
    dialogs: list[str] = []
    ticket = submit(server, keys["intake"], HOSTILE, f"{HOSTILE} my vpn network connection drops")
    page = sign_in(context, server, "admin")
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    response = page.goto(f"{server.url}/tickets/{ticket['number']}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("#ticket-subject").inner_text() == HOSTILE
    assert page.locator("img[src=x]").count() == 0 and page.locator("main script").count() == 0
    page.goto(f"{server.url}/queue?view=team")
    assert page.locator(f"tr[data-number='{ticket['number']}'] td.subject").inner_text() == HOSTILE
    page.goto(f"{server.url}/dashboard")
    page.wait_for_timeout(500)
    assert dialogs == []


def test_the_interface_switches_to_chinese_and_back(console, context) -> None:  # noqa: ANN001
    server, _ = console
    page = sign_in(context, server, "boss")
    assert page.locator("nav.nav a[href='/dashboard']").inner_text() == "Dashboard"
    page.click("#switch-language")
    page.wait_for_selector("html[lang=zh-CN]")
    assert page.locator("nav.nav a[href='/dashboard']").inner_text() == "管理看板"
    assert page.url.endswith("/dashboard")
    page.reload()  # remembered
    assert page.locator("h1").first.inner_text() == "管理看板"
    screenshot(page, "dashboard-zh")
    page.click("#switch-language")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").first.inner_text() == "Dashboard"
