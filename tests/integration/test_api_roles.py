"""The whole role matrix: who sees and changes which ticket. Another team's ticket is a 404, never a 403."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

#: principal -> the tickets (by name) it may see. "tech" was sent by intake, "billing" by intake2.
VISIBLE = {
    "intake": {"tech"},
    "intake2": {"billing"},
    "tech_agent": {"tech"},
    "billing_agent": {"billing"},
    "tech_manager": {"tech"},
    "billing_manager": {"billing"},
    "admin": {"tech", "billing"},
}
WORKERS = {"tech_agent", "billing_agent", "tech_manager", "billing_manager", "admin"}


@pytest.fixture
def tickets(api: Api) -> dict[str, str]:
    tech = api.submit("vpn drops", "network connection drops", who="intake")
    billing = api.submit("invoice", "where is my invoice receipt", who="intake2")
    assert (tech["assignment"]["team"], billing["assignment"]["team"]) == ("tech", "billing")
    return {"tech": tech["number"], "billing": billing["number"]}


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_each_role_sees_exactly_its_tickets(api: Api, tickets: dict[str, str], who: str) -> None:
    for name, number in tickets.items():
        response = api.get(f"/api/v1/tickets/{number}", who)
        assert response.status_code == (200 if name in VISIBLE[who] else 404), (who, name)
        audit = api.get(f"/api/v1/tickets/{number}/audit", who)
        assert audit.status_code == (200 if name in VISIBLE[who] else 404), (who, name)
    listed = {t["number"] for t in api.get("/api/v1/tickets", who).json()["tickets"]}
    assert listed == {tickets[name] for name in VISIBLE[who]}


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_each_role_changes_only_what_it_may(api: Api, tickets: dict[str, str], who: str) -> None:
    for name, number in tickets.items():
        response = api.post(f"/api/v1/tickets/{number}/messages", who, json={"kind": "note", "body": "checking"})
        if who not in WORKERS:
            expected = 403  # the role may not write notes at all, whatever the ticket
        else:
            expected = 201 if name in VISIBLE[who] else 404
        assert response.status_code == expected, (who, name, response.text)
    customer = api.post(f"/api/v1/tickets/{tickets['tech']}/messages", who, json={"kind": "customer", "body": "hi"})
    assert customer.status_code == (201 if "tech" in VISIBLE[who] else 404), who


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_only_admins_manage_keys(api: Api, who: str) -> None:
    created = api.post("/api/v1/admin/keys", who, json={"role": "intake", "name": "pipeline"})
    assert created.status_code == (201 if who == "admin" else 403)
    listed = api.get("/api/v1/admin/keys", who)
    assert listed.status_code == (200 if who == "admin" else 403)
    if who == "admin":
        key = created.json()["key"]
        assert key.startswith("tt_") and all("key" not in k for k in listed.json())
        assert api.client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_a_key_for_an_unknown_team_or_agent_is_refused(api: Api) -> None:
    assert api.post("/api/v1/admin/keys", "admin", json={"role": "manager", "teams": ["nope"]}).status_code == 422
    assert api.post("/api/v1/admin/keys", "admin", json={"role": "agent", "agent_id": "ghost"}).status_code == 422
    assert api.post("/api/v1/admin/keys", "admin", json={"role": "manager"}).status_code == 422
