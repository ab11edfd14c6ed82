"""Shared pieces of the console's browser tests: console users, signing in, screenshots (the ``browser`` fixture, Debian's
chromium driven by Playwright, is in ``conftest.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.integration.conftest import REPO, LiveApi
from triage.adapters.bootstrap import build_service
from triage.config import Settings
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import Role
from triage.services.audit import SYSTEM
from triage.services.users import create_user

#: Screenshots go here (git-ignored); the README's are copied from a run on the demo data.
SCREENSHOTS = Path(os.environ.get("TRIAGE_TEST_SCREENSHOTS", REPO / "test-artifacts" / "screenshots"))
PASSWORD = "correct horse battery staple"
#: Console users of the browser tests: username -> (role, teams, agent).
USERS = {
    "boss": (Role.MANAGER, ["tech", "billing", "care", "triage"], None),
    "admin": (Role.ADMIN, [], None),
    "anna": (Role.AGENT, [], "anna.kurz"),
    **{agent: (Role.AGENT, [], agent) for agent in ("wang.lei", "zhang.min", "tom.baker", "chen.jie")},
}


def create_users(settings: Settings) -> None:
    service = build_service(settings)
    try:
        for name, (role, teams, agent) in USERS.items():
            create_user(service.start, service.desk, username=name, password=PASSWORD, role=role, teams=teams,
                        agent_id=agent, now=utc_now(), actor=SYSTEM)  # fmt: skip
    finally:
        service.stop()


def sign_in(context: object, server: LiveApi, username: str, *, password: str = PASSWORD, width: int = 1366,
            height: int = 900) -> object:  # fmt: skip
    """A new page of ``context``, signed in as ``username`` (lands where the console sends that role)."""
    page = context.new_page()  # type: ignore[attr-defined]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("load")
    return page


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def submit(server: LiveApi, key: str, subject: str, body: str, *, customer: str = "C-1", tier: str = "standard") -> dict:
    response = httpx.post(f"{server.url}/api/v1/tickets", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                          json={"subject": subject, "body": body, "customer": {"id": customer, "tier": tier}})  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()
