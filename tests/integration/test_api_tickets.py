"""The HTTP API on a real database (SQLite, and PostgreSQL in CI) with a pipeline of fakes."""

from __future__ import annotations

import time

import pytest

from tests.integration.conftest import Api

pytestmark = pytest.mark.integration


def test_a_new_ticket_is_numbered_triaged_routed_and_on_an_sla_clock(api: Api) -> None:
    ticket = api.submit("VPN connection drops", "my vpn network connection drops every hour", customer="C-9", tier="vip")
    assert ticket["number"].startswith("TKT-") and ticket["triage_state"] == "done"
    assert ticket["triage"]["category"]["label"] == "repair/network" and not ticket["triage"]["category"]["abstained"]
    assert ticket["triage"]["urgency"]["level"] in {"P1", "P2", "P3", "P4"}
    assert any(s["source"] == "tier" for s in ticket["triage"]["urgency"]["signals"])  # VIP raises urgency
    assert ticket["triage"]["model_versions"]["category"] == "triage-category/7"
    assert ticket["triage"]["suggestions"][0]["article_id"] == "kb-vpn"
    assert ticket["assignment"]["team"] == "tech" and ticket["assignment"]["agent_id"] is not None
    assert ticket["status"] == "assigned" and any("skill network" in r for r in ticket["assignment"]["reasons"])
    assert ticket["sla"]["first_response_due"] is not None and ticket["sla"]["breached"] is False
    again = api.get(f"/api/v1/tickets/{ticket['number']}")
    assert again.status_code == 200
    assert {k: v for k, v in again.json().items() if k != "thread"} == {k: v for k, v in ticket.items() if k != "thread"}


def test_an_unsure_ticket_goes_to_the_triage_queue_with_the_reason(api: Api) -> None:
    ticket = api.submit("hello there", "general musings about nothing in particular")
    assert ticket["triage"]["category"]["abstained"] and ticket["category"] is None
    assert ticket["assignment"]["team"] == "triage" and ticket["assignment"]["queued"]
    assert ticket["assignment"]["reasons"][0].startswith("category abstained (low_confidence)")
    classified = api.post(f"/api/v1/tickets/{ticket['number']}/classify", "admin", json={"category": "billing/invoice"})
    assert classified.status_code == 200, classified.text
    assert classified.json()["category"] == "billing/invoice" and classified.json()["assignment"]["team"] == "billing"


def test_idempotent_replays_return_the_first_ticket_and_a_changed_body_is_refused(api: Api) -> None:
    payload = {"subject": "refund please", "body": "charged twice", "customer": {"id": "C-2"}}
    first = api.post("/api/v1/tickets", json=payload, headers={"Idempotency-Key": "abc-1"})
    replay = api.post("/api/v1/tickets", json=payload, headers={"Idempotency-Key": "abc-1"})
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["number"] == first.json()["number"]
    changed = api.post("/api/v1/tickets", json={**payload, "body": "something else"}, headers={"Idempotency-Key": "abc-1"})
    assert changed.status_code == 409 and "different body" in changed.json()["detail"]
    other_key_owner = api.post("/api/v1/tickets", "intake2", json=payload, headers={"Idempotency-Key": "abc-1"})
    assert other_key_owner.status_code == 201 and other_key_owner.json()["number"] != first.json()["number"]


def test_every_endpoint_but_health_ready_and_openapi_needs_a_key(api: Api) -> None:
    client = api.client
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200 and client.get("/readyz").json()["ready"]
    assert client.get("/openapi.json").status_code == 200
    for method, path in (("get", "/api/v1/tickets"), ("post", "/api/v1/tickets"), ("get", "/metrics"),
                         ("post", "/api/v1/triage"), ("get", "/api/v1/models"), ("get", "/api/v1/admin/keys")):  # fmt: skip
        response = getattr(client, method)(path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", path
    wrong = client.get("/api/v1/tickets", headers={"Authorization": "Bearer tt_nope_nope"})
    assert wrong.status_code == 401


def test_lists_filter_and_page_with_a_cursor(api: Api) -> None:
    numbers = [api.submit(f"invoice question {i}", "where is my invoice receipt")["number"] for i in range(5)]
    api.submit("vpn drops", "network connection drops")
    first = api.get("/api/v1/tickets", params={"team": "billing", "limit": 2}).json()
    assert len(first["tickets"]) == 2 and first["next_cursor"]
    second = api.get("/api/v1/tickets", params={"team": "billing", "limit": 2, "cursor": first["next_cursor"]}).json()
    seen = [t["number"] for t in first["tickets"] + second["tickets"]]
    assert seen == sorted(numbers, reverse=True)[:4]
    assert all(t["assignment"]["team"] == "billing" for t in first["tickets"] + second["tickets"])
    assert api.get("/api/v1/tickets", params={"breached": "true"}).json()["tickets"] == []
    assert api.get("/api/v1/tickets", params={"cursor": "garbage"}).status_code == 422
    assert api.get("/api/v1/tickets", params={"priority": "P9"}).status_code == 422


def test_an_illegal_status_change_is_a_409_that_names_the_allowed_ones(api: Api) -> None:
    number = api.submit("vpn drops", "network connection drops")["number"]
    response = api.post(f"/api/v1/tickets/{number}/status", "admin", json={"status": "closed"})
    assert response.status_code == 409
    assert response.json()["current"] == "assigned" and "in_progress" in response.json()["allowed"]
    assert "closed" not in response.json()["allowed"]


def test_the_lifecycle_keeps_the_sla_clock_in_step_and_everything_is_audited(api: Api) -> None:
    number = api.submit("vpn drops", "network connection drops")["number"]
    path = f"/api/v1/tickets/{number}"
    assert api.post(f"{path}/status", "admin", json={"status": "in_progress"}).json()["status"] == "in_progress"
    reply = api.post(f"{path}/messages", "admin", json={"kind": "reply", "body": "Please update the client."})
    assert reply.status_code == 201
    note = api.post(f"{path}/messages", "admin", json={"kind": "note", "body": "@wang.lei can you check? cc @tom.baker"})
    assert note.json()["mentions"] == ["wang.lei", "tom.baker"]
    pending = api.post(f"{path}/status", "admin", json={"status": "pending_customer"}).json()
    assert pending["sla"]["paused"] and pending["first_response_at"] is not None
    back = api.post(f"{path}/messages", "intake", json={"kind": "customer", "body": "Still broken."})
    assert back.status_code == 201
    resumed = api.get(path).json()
    assert resumed["status"] == "in_progress" and not resumed["sla"]["paused"]
    assert [m["kind"] for m in resumed["thread"]] == ["reply", "note", "customer"]
    resolved = api.post(f"{path}/resolve", "admin", json={"solution": "Reinstalled VPN client 5.2 with split tunnelling"})
    assert resolved.json()["status"] == "resolved"
    assert api.post(f"{path}/csat", "intake", json={"score": 5}).json()["csat"] == 5
    assert api.post(f"{path}/csat", "intake", json={"score": 6}).status_code == 422
    reopened = api.post(f"{path}/messages", "intake", json={"kind": "customer", "body": "It broke again"})
    assert reopened.status_code == 201
    cycle2 = api.get(path).json()
    assert cycle2["status"] == "in_progress" and cycle2["sla"]["cycle"] == 2
    actions = [e["action"] for e in api.get(f"{path}/audit").json()]
    assert actions[:2] == ["created", "triaged"] and "resolved" in actions and "message:customer" in actions
    status_change = next(e for e in api.get(f"{path}/audit").json() if e["action"] == "status")
    assert status_change["before"]["status"] == "assigned" and status_change["after"]["status"] == "in_progress"


def test_a_solution_is_searchable_in_the_knowledge_base_within_seconds(api: Api) -> None:
    number = api.submit("printer offline", "the scanner driver fails")["number"]
    api.post(f"/api/v1/tickets/{number}/resolve", "admin", json={"solution": "Reinstall scanner driver v3.2 zebra"})
    deadline = time.monotonic() + 10
    found = []
    while time.monotonic() < deadline and not found:
        triage = api.post("/api/v1/triage", json={"subject": "scanner driver zebra v3.2 reinstall"}).json()["triage"]
        found = [s for s in triage["suggestions"] if s["article_id"] == f"ticket-{number}"]
        time.sleep(0.2)
    assert found and found[0]["source"] == "ticket"


def test_merge_subtask_and_reassign(api: Api) -> None:
    first = api.submit("refund", "charged twice refund money back")["number"]
    second = api.submit("refund again", "charged twice refund money back")["number"]
    merged = api.post(f"/api/v1/tickets/{second}/merge", "admin", json={"into": first}).json()
    assert merged["status"] == "closed" and merged["merged_into"] == first
    assert any("was merged" in m["body"] for m in api.get(f"/api/v1/tickets/{first}").json()["thread"])
    child = api.post(f"/api/v1/tickets/{first}/subtasks", "admin", json={"team": "tech", "subject": "check card terminal"})
    assert child.status_code == 201 and child.json()["parent"] == first
    deadline = time.monotonic() + 5
    while api.get(f"/api/v1/tickets/{child.json()['number']}").json()["triage_state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert api.get(f"/api/v1/tickets/{child.json()['number']}").json()["assignment"]["team"] == "tech"
    moved = api.post(f"/api/v1/tickets/{first}/assign", "admin", json={"agent_id": "liu.yang"}).json()
    assert moved["assignment"]["agent_id"] == "liu.yang"
    assert api.post(f"/api/v1/tickets/{first}/assign", "admin", json={"agent_id": "nobody"}).status_code == 422


def test_bad_input_gets_a_clear_error_naming_the_field_or_the_limit(api: Api) -> None:
    post = lambda **kw: api.post("/api/v1/tickets", **kw)  # noqa: E731
    too_long = post(json={"subject": "x", "body": "y" * 20_001, "customer": {"id": "c"}})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "body"]
    assert "20000 characters" in too_long.json()["detail"][0]["msg"]
    unknown = post(json={"subject": "x", "customer": {"id": "c"}, "priority": "P1"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "priority"]
    bad_enum = post(json={"subject": "x", "customer": {"id": "c"}, "channel": "fax"})
    assert bad_enum.status_code == 422 and bad_enum.json()["detail"][0]["loc"] == ["body", "channel"]
    bad_json = post(content=b"{not json", headers={"content-type": "application/json"})
    assert bad_json.status_code == 422
    empty = post(json={"subject": " ", "body": "", "customer": {"id": "c"}})
    assert empty.status_code == 422 and "no text" in empty.json()["detail"][0]["msg"]
    huge = post(content=b"x" * (api.settings.max_body_bytes + 1), headers={"content-type": "application/json"})
    assert huge.status_code == 413 and str(api.settings.max_body_bytes) in huge.json()["detail"]
    wrong_type = post(json={"subject": 5, "customer": {"id": "c"}})
    assert wrong_type.status_code == 422 and wrong_type.json()["detail"][0]["loc"] == ["body", "subject"]


def test_markup_in_a_ticket_is_stored_as_data_and_returned_verbatim(api: Api) -> None:
    subject = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    ticket = api.submit(subject, "vpn drops")
    response = api.get(f"/api/v1/tickets/{ticket['number']}")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["subject"] == subject and response.headers["x-content-type-options"] == "nosniff"


def test_batch_intake_and_stateless_triage(api: Api) -> None:
    items = [{"subject": f"invoice {i}", "body": "where is my invoice", "customer": {"id": f"C{i}"}} for i in range(3)]
    response = api.post("/api/v1/tickets/batch", json={"tickets": items})
    assert response.status_code == 201 and [i["created"] for i in response.json()["items"]] == [True] * 3
    bad = api.post("/api/v1/tickets/batch", json={"tickets": [*items, {"subject": "x", "customer": {"id": "c"}, "channel": "fax"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:3] == ["body", "tickets", 3]
    stateless = api.post("/api/v1/triage", json={"subject": "refund", "body": "money back please"})
    assert stateless.status_code == 200 and stateless.json()["triage"]["category"]["label"] == "billing/refund"
    before = api.get("/api/v1/tickets", params={"limit": 200}).json()["tickets"]
    api.post("/api/v1/triage", json={"subject": "refund"})
    assert len(api.get("/api/v1/tickets", params={"limit": 200}).json()["tickets"]) == len(before)


def test_metrics_report_requests_stages_queue_and_abstentions(api: Api) -> None:
    api.submit("vpn drops", "network connection drops")
    text = api.get("/metrics").text
    for name in ("triage_http_request_seconds_count", "triage_stage_seconds_count{stage=\"encode\"}",
                 "triage_queue_depth", "triage_tickets_triaged_total", "triage_abstain_rate", "triage_model_info"):  # fmt: skip
        assert name in text, name
    assert api.get("/metrics", "intake").status_code == 403


def test_an_agent_going_offline_hands_their_tickets_back(api: Api) -> None:
    numbers = [api.submit("login locked", "account locked password reset")["number"] for _ in range(3)]
    holders = {api.get(f"/api/v1/tickets/{n}").json()["assignment"]["agent_id"] for n in numbers}
    agent = next(iter(holders))
    moved = api.post(f"/api/v1/agents/{agent}/presence", "admin", json={"status": "offline"})
    assert moved.status_code == 200 and moved.json()
    for number in numbers:
        assert api.get(f"/api/v1/tickets/{number}").json()["assignment"]["agent_id"] != agent
    assert api.post("/api/v1/agents/nobody/presence", "admin", json={"status": "away"}).status_code == 404
    assert api.post(f"/api/v1/agents/{agent}/presence", "intake", json={"status": "away"}).status_code == 403
