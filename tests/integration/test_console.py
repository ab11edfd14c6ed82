"""The console's rules without a browser, on SQLite and PostgreSQL: sign-in, lockout, the session cookie, CSRF on
every state change, logout, idle expiry, role checks and scopes, queues sorted by SLA deadline, the triage queue,
the security headers, and ``triage users``."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.integration.browser import PASSWORD, create_users
from tests.integration.conftest import LiveApi, fake_pipeline_factory, make_keys, new_database, service_settings
from triage.adapters.bootstrap import build_service
from triage.cli.main import main as cli
from triage.config import Settings, get_settings
from triage.kernel.clock import utc_now
from triage.services import users

pytestmark = pytest.mark.integration
ANGRY = ("VPN DOWN AGAIN", "This is UNACCEPTABLE!! terrible worst service, my vpn network connection drops")


class Console:
    """A TestClient over HTTPS (the cookies are Secure), with API keys and console users."""

    def __init__(self, client: TestClient, keys: dict[str, str], settings: Settings) -> None:
        self.client, self.keys, self.settings = client, keys, settings

    def submit(self, subject: str, body: str, *, tier: str = "standard", customer: str = "C-1") -> dict:
        response = self.client.post("/api/v1/tickets", headers={"Authorization": f"Bearer {self.keys['intake']}"},
                                    json={"subject": subject, "body": body, "customer": {"id": customer, "tier": tier}})  # fmt: skip
        assert response.status_code == 201, response.text
        return response.json()

    def api(self, path: str, who: str = "admin") -> dict:
        return self.client.get(path, headers={"Authorization": f"Bearer {self.keys[who]}"}).json()

    def login(self, username: str, password: str = PASSWORD, **extra: str):  # noqa: ANN201
        self.client.cookies.clear()
        form = self.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                                "time_zone": "Asia/Shanghai", **extra}, follow_redirects=False)  # fmt: skip

    def csrf(self, path: str) -> str:
        return re.search(r'name="csrf-token" content="([^"]+)"', self.client.get(path).text).group(1)  # type: ignore[union-attr]


@pytest.fixture
def console(database_url: str, tmp_path: Path, always_on_config: Path) -> Iterator[Console]:
    settings = service_settings(tmp_path / "home", database_url, always_on_config)
    keys = make_keys(settings)
    create_users(settings)
    app = create_app(settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with TestClient(app, base_url="https://testserver") as client:
        yield Console(client, keys, settings)


def test_sign_in_sets_a_secure_httponly_samesite_session_cookie_and_logout_ends_the_session(console: Console) -> None:
    assert console.client.get("/", follow_redirects=False).headers["location"] == "/login"
    response = console.login("boss")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-triage_session=")
    assert all(part in cookie for part in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"))
    token = console.client.cookies.get("__Host-triage_session")
    with build_service(console.settings).read() as uow:
        assert uow.sessions.get(token) is None and uow.sessions.get(users.hash_token(token)) is not None  # hash only
    assert console.client.get("/dashboard").status_code == 200
    assert console.client.post("/logout", data={}, follow_redirects=False).status_code == 403  # no CSRF token
    csrf = console.csrf("/queue")
    out = console.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and 'triage_session=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    console.client.cookies.set("__Host-triage_session", token)  # a stolen copy of the old cookie is worth nothing
    assert console.client.get("/dashboard", follow_redirects=False).headers["location"] == "/login?next=/dashboard"


def test_wrong_passwords_get_one_answer_and_five_lock_the_account(console: Console) -> None:
    unknown, wrong = console.login("nobody"), console.login("boss", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong username or password." in unknown.text and "Wrong username or password." in wrong.text
    for _ in range(4):
        console.login("boss", "still wrong")
    locked = console.login("boss")  # even the right password, while locked
    assert locked.status_code == 401 and "locked until" in locked.text
    without_token = console.client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert without_token.status_code == 403  # the sign-in form has CSRF protection too


def test_state_changes_need_the_sessions_csrf_token_and_a_same_site_origin(console: Console) -> None:
    ticket = console.submit(*ANGRY)
    console.login("admin")
    path = f"/tickets/{ticket['number']}/messages"
    csrf = console.csrf(f"/tickets/{ticket['number']}")
    assert console.client.post(path, data={"kind": "note", "body": "x"}).status_code == 403
    assert console.client.post(path, data={"kind": "note", "body": "x", "csrf_token": "forged"}).status_code == 403
    cross = console.client.post(path, data={"kind": "note", "body": "x", "csrf_token": csrf},
                                headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})  # fmt: skip
    assert cross.status_code == 403
    done = console.client.post(path, data={"kind": "note", "body": "ask @tom.baker", "csrf_token": csrf},
                               follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].endswith("?done=note")
    thread = console.api(f"/api/v1/tickets/{ticket['number']}")["thread"]
    assert thread[-1]["kind"] == "note" and thread[-1]["mentions"] == ["tom.baker"]
    page = console.client.get(f"/tickets/{ticket['number']}?done=note")
    assert '<mark class="mention">@tom.baker</mark>' in page.text and "Note added." in page.text


def test_roles_and_scopes_are_the_apis(console: Console) -> None:
    tech = console.submit(*ANGRY)
    console.login("anna")  # billing agent
    assert console.client.get(f"/tickets/{tech['number']}").status_code == 404
    assert console.client.get("/dashboard").status_code == 403
    csrf = console.csrf("/queue")
    refused = console.client.post(f"/tickets/{tech['number']}/resolve", data={"csrf_token": csrf, "solution": "x"})
    assert refused.status_code == 404 and console.api(f"/api/v1/tickets/{tech['number']}")["status"] != "resolved"
    assert console.client.get("/tickets/TKT-2026-999999").status_code == 404
    unknown = console.client.get("/no/such/page", headers={"Accept": "text/html"})
    assert unknown.status_code == 404 and "Not found" in unknown.text
    assert console.client.get("/api/v1/nothing").headers["content-type"].startswith("application/json")
    redirected = console.login("boss", next="//evil.example/")
    assert redirected.headers["location"] == "/dashboard"  # no open redirect


def test_the_queue_is_sorted_by_sla_deadline_and_the_triage_queue_classifies(console: Console) -> None:
    slow = console.submit("question", "how where do I find the vpn network settings")
    urgent = console.submit("VPN outage", "vpn network down for all users everyone outage", tier="vip")
    odd = console.submit("", "hello there general musings")  # the fake category model abstains on it
    assert odd["assignment"]["team"] == "triage" and odd["category"] is None
    console.login("boss")
    queue = console.client.get("/queue?view=team").text
    order = re.findall(r'data-number="([^"]+)"', queue)
    assert order.index(urgent["number"]) < order.index(slow["number"])
    triage = console.client.get("/triage")
    assert odd["number"] in triage.text and urgent["number"] not in triage.text
    csrf = console.csrf("/triage")
    classified = console.client.post(f"/tickets/{odd['number']}/classify", follow_redirects=False,
                                     data={"csrf_token": csrf, "category": "repair/hardware", "priority": "P3",
                                           "next": "/triage"})  # fmt: skip
    assert classified.status_code == 303 and classified.headers["location"] == "/triage?done=classified"
    after = console.api(f"/api/v1/tickets/{odd['number']}")
    assert after["category"] == "repair/hardware" and after["assignment"]["team"] == "tech"
    with build_service(console.settings).read() as uow:
        corrected = {row["number"]: row for row in uow.feedback.corrected_tickets(since=None)}
    assert corrected[odd["number"]]["category"] == "repair/hardware"
    assert odd["number"] not in console.client.get("/triage").text


def test_pages_send_a_strict_content_security_policy_and_escape_ticket_text(console: Console) -> None:
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    ticket = console.submit(hostile, hostile + " vpn network")
    console.login("admin")
    page = console.client.get(f"/tickets/{ticket['number']}")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert hostile not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page.text)  # no inline script at all
    assert "<img" not in page.text  # the hostile tag exists only escaped


def test_an_idle_session_ends(database_url: str, tmp_path: Path, always_on_config: Path) -> None:
    settings = service_settings(tmp_path / "home", database_url, always_on_config, console_idle_minutes=0.02)
    create_users(settings)
    app = create_app(settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with TestClient(app, base_url="https://testserver") as client:
        console = Console(client, {}, settings)
        console.login("boss")
        assert client.get("/dashboard", follow_redirects=False).status_code == 200
        time.sleep(1.5)
        assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/login?next=/dashboard"


def test_users_create_reads_the_password_from_stdin_and_stores_an_argon2_hash(cli_home: Path, capsys,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001  # fmt: skip
    assert cli(["db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret password\n"))
    assert cli(["users", "create", "--username", "Li.Na", "--role", "manager", "--team", "tech"]) == 0
    assert "created manager li.na" in capsys.readouterr().out
    service = build_service(get_settings())
    with service.read() as uow:
        user, stored = uow.users.by_username("li.na")
    assert stored.startswith("$argon2id$") and "s3cret" not in stored and user.teams == {"tech"}
    assert users.sign_in(service.start, "LI.NA", "s3cret password", now=utc_now()).principal is not None
    assert users.sign_in(service.start, "li.na", "s3cret password ", now=utc_now()).principal is None
    service.stop()
    for argv, stdin, message in (
        (["--username", "li.na", "--role", "agent", "--agent", "wang.lei"], "another password\n", "taken"),
        (["--username", "x", "--role", "admin"], "another password\n", "invalid username"),
        (["--username", "bob", "--role", "admin"], "short\n", "too short"),
        (["--username", "bob", "--role", "admin"], "", "no password on stdin"),
        (["--username", "bob", "--role", "manager"], "another password\n", "needs --team"),
        (["--username", "bob", "--role", "agent", "--agent", "ghost"], "another password\n", "roster id"),
    ):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        assert cli(["users", "create", *argv]) == 2
        assert message in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a new password\n"))
    assert cli(["users", "set-password", "li.na"]) == 0
    assert cli(["users", "disable", "li.na"]) == 0
    assert cli(["users", "disable", "li.na"]) == 2
    capsys.readouterr()
    assert cli(["users", "list"]) == 0
    [listed] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert '"username": "li.na"' in listed and '"disabled_at": null' not in listed and "password" not in listed


def test_the_live_alert_stream_follows_the_session_and_ends_at_sign_out(tmp_path: Path, always_on_config: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr("api.routes.alerts.RECHECK_SECONDS", 0.3)
    url, _ = new_database("sqlite", tmp_path)
    settings = service_settings(tmp_path / "home", url, always_on_config, console_secure_cookies=False)
    keys = make_keys(settings)
    create_users(settings)
    app = create_app(settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with LiveApi(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/console/events").status_code == 401  # no session: no stream
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        assert client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token}).status_code == 303
        assert "triage_session" in client.cookies  # without Secure, the cookie has no __Host- prefix
        events: list[str] = []
        ended = threading.Event()

        def listen() -> None:
            with client.stream("GET", "/console/events") as response:
                for line in response.iter_lines():
                    events.append(line)
            ended.set()

        threading.Thread(target=listen, daemon=True).start()
        time.sleep(0.5)
        number = httpx.post(f"{server.url}/api/v1/tickets", headers={"Authorization": f"Bearer {keys['intake']}"},
                            json={"subject": ANGRY[0], "body": ANGRY[1], "customer": {"id": "C-1", "tier": "vip"}},
                            timeout=30).json()["number"]  # fmt: skip
        deadline = time.monotonic() + 5
        while not any(number in line for line in events) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(line == "event: angry_customer" for line in events) and any(number in line for line in events)
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/queue").text).group(1)  # type: ignore[union-attr]
        client.post("/logout", data={"csrf_token": csrf})
        assert ended.wait(5), "the stream outlived the session"
