from __future__ import annotations

import threading
from datetime import UTC, datetime, time

from triage.domain.agents import Agent, AgentStatus, Shift
from triage.domain.routing import RoutingPolicy, Strategy, assign
from triage.domain.taxonomy import Category, Taxonomy
from triage.domain.ticket import Customer, Ticket
from triage.services.routing_board import RoutingBoard

NOW = datetime(2024, 1, 8, 10, tzinfo=UTC)  # Monday
POLICY = RoutingPolicy(
    taxonomy=Taxonomy.of(
        [
            Category("repair/network", skill="network", team="tech"),
            Category("billing/refund", skill="billing", team="billing"),
        ]
    ),
    min_skill_level={"P1": 3, "P2": 2, "P3": 1, "P4": 1},
    senior_seniority=3,
    angry_threshold=0.7,
)


def make_agent(agent_id: str, *, skills=None, languages=("en",), capacity=8, seniority=2, **kw) -> Agent:
    return Agent(
        id=agent_id,
        name=agent_id,
        team="tech",
        skills=skills if skills is not None else {"network": 3},
        languages=frozenset(languages),
        capacity=capacity,
        seniority=seniority,
        **kw,
    )


def make_ticket(ticket_id="T1", *, category="repair/network", priority="P3", language="en", tier="standard", anger=0.0):
    return Ticket(
        id=ticket_id,
        customer=Customer(id=f"customer-{ticket_id}", tier=tier),
        category=category,
        priority=priority,
        language=language,
        anger=anger,
        created_at=NOW,
    )


def test_the_agent_needs_the_categorys_skill_and_the_tickets_language():
    agents = [
        make_agent("billing-only", skills={"billing": 5}, languages=("zh",)),
        make_agent("network-en", skills={"network": 4}, languages=("en",)),
        make_agent("network-zh", skills={"network": 3}, languages=("zh", "en")),
    ]
    result = assign(make_ticket(language="zh"), agents, POLICY, now=NOW, loads={})
    assert result.agent_id == "network-zh"
    assert "speaks zh" in result.reasons
    assert any(r.startswith("skill network≥1") for r in result.reasons)


def test_ties_go_to_the_least_loaded_agent():
    agents = [make_agent("busy"), make_agent("idle")]
    result = assign(make_ticket(), agents, POLICY, now=NOW, loads={"busy": 3, "idle": 1})
    assert result.agent_id == "idle"
    assert "load 1/8" in result.reasons


def test_equal_loads_are_broken_by_round_robin():
    agents = [make_agent("a"), make_agent("b")]
    result = assign(make_ticket(), agents, POLICY, now=NOW, loads={}, last_assigned={"a": 5, "b": 2})
    assert result.agent_id == "b"


def test_p1_tickets_and_angry_vips_go_to_senior_agents():
    agents = [make_agent("junior", skills={"network": 5}, seniority=1), make_agent("senior", seniority=3)]
    assert assign(make_ticket(priority="P1"), agents, POLICY, now=NOW).agent_id == "senior"
    angry_vip = make_ticket(priority="P3", tier="vip", anger=0.9)
    result = assign(angry_vip, agents, POLICY, now=NOW, loads={"senior": 7, "junior": 0})
    assert result.agent_id == "senior"
    assert "angry VIP→senior" in result.reasons
    calm_vip = make_ticket(priority="P3", tier="vip", anger=0.1)
    assert assign(calm_vip, agents, POLICY, now=NOW, loads={"senior": 7}).agent_id == "junior"


def test_a_full_or_offline_agent_gets_nothing_and_the_ticket_is_queued_with_reasons():
    off_shift = Shift(weekdays=frozenset({5, 6}), start=time(9), end=time(17), tz="UTC")
    agents = [make_agent("full", capacity=2), make_agent("weekend", shifts=(off_shift,))]
    result = assign(make_ticket(), agents, POLICY, now=NOW, loads={"full": 2})
    assert result.queued and result.team == "tech"
    assert any("at capacity" in r for r in result.reasons)
    assert any("offline" in r for r in result.reasons)


def test_round_robin_ignores_skills_and_cycles():
    agents = [make_agent("a", skills={}), make_agent("b", skills={})]
    board = RoutingBoard(agents=agents, policy=POLICY, strategy=Strategy.ROUND_ROBIN)
    picked = [board.route(make_ticket(f"T{i}"), now=NOW).agent_id for i in range(4)]
    assert picked == ["a", "b", "a", "b"]


def test_an_overnight_shift_covers_the_hours_after_midnight():
    shift = Shift(weekdays=frozenset({0}), start=time(22), end=time(6), tz="UTC")
    agent = make_agent("night", shifts=(shift,))
    assert agent.status_at(datetime(2024, 1, 8, 23, tzinfo=UTC)) is AgentStatus.ONLINE
    assert agent.status_at(datetime(2024, 1, 9, 5, tzinfo=UTC)) is AgentStatus.ONLINE
    assert agent.status_at(datetime(2024, 1, 9, 7, tzinfo=UTC)) is AgentStatus.OFFLINE


def test_concurrent_routing_never_overfills_an_agent():
    board = RoutingBoard(agents=[make_agent("only", capacity=5)], policy=POLICY)
    results = []
    barrier = threading.Barrier(20)

    def route(i: int) -> None:
        barrier.wait()
        results.append(board.route(make_ticket(f"T{i}"), now=NOW))

    threads = [threading.Thread(target=route, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(not r.queued for r in results) == 5
    assert board.load_of("only") == 5
    assert len(board.queue("tech")) == 15


def test_an_agent_going_offline_hands_over_unstarted_tickets_only():
    board = RoutingBoard(agents=[make_agent("a"), make_agent("b")], policy=POLICY)
    first = board.route(make_ticket("T1"), now=NOW)
    board.route(make_ticket("T2"), now=NOW)
    third = board.route(make_ticket("T3"), now=NOW)
    assert first.agent_id == third.agent_id == "a"
    board.start("T1")
    board.set_presence("a", AgentStatus.OFFLINE)
    moved = board.reassign_from("a", now=NOW)
    assert [(m.ticket_id, m.agent_id) for m in moved] == [("T3", "b")]
    assert board.holder_of("T1") == "a"
    assert board.load_of("a") == 1 and board.load_of("b") == 2


def test_a_freed_agent_pulls_the_most_urgent_queued_ticket_first():
    board = RoutingBoard(agents=[make_agent("a", capacity=1, seniority=3)], policy=POLICY)
    board.route(make_ticket("T0"), now=NOW)
    board.route(make_ticket("low", priority="P4"), now=NOW)
    board.route(make_ticket("urgent", priority="P1"), now=NOW)
    board.release("T0")
    pulled = board.pull_next("a", now=NOW)
    assert pulled is not None and pulled.ticket_id == "urgent"
    assert [t.id for t in board.queue("tech")] == ["low"]
