"""Agent capacity under concurrent routers: the conditional UPDATE never overfills an agent (SQLite, PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import new_database
from triage.adapters.sql.engine import make_engine
from triage.adapters.sql.unit_of_work import SqlUnitOfWork

pytestmark = pytest.mark.integration

THREADS = 16
CLAIMS_PER_THREAD = 10
CAPACITY = 7


def claim(engine, agent_id: str, capacity: int = CAPACITY) -> bool:  # noqa: ANN001
    with SqlUnitOfWork(engine) as uow:
        won = uow.agents.claim(agent_id, capacity)
        uow.commit()
        return won


def test_threads_racing_for_one_agent_never_exceed_capacity(database_url: str) -> None:
    engine = make_engine(database_url)
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    wins: list[int] = []
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        wins.extend(1 for _ in range(CLAIMS_PER_THREAD) if claim(engine, agent_id))

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == CAPACITY
    with SqlUnitOfWork(engine) as uow:
        assert uow.agents.load_of(agent_id) == CAPACITY
        uow.agents.release(agent_id)
        assert uow.agents.load_of(agent_id) == CAPACITY - 1
        for _ in range(CAPACITY + 3):
            uow.agents.release(agent_id)
        assert uow.agents.load_of(agent_id) == 0  # never below zero
        assert uow.agents.loads([agent_id, "unknown"]) == {agent_id: 0, "unknown": 0}
        uow.agents.mark_assigned(agent_id)
        uow.agents.mark_assigned("other")
        stamps = uow.agents.last_assigned([agent_id, "other", "never"])
        assert set(stamps) == {agent_id, "other"} and stamps["other"] > stamps[agent_id]
        uow.commit()
    engine.dispose()


def test_two_engines_on_one_sqlite_file_share_the_limit(tmp_path: Path) -> None:
    url, _ = new_database("sqlite", tmp_path)
    first, second = make_engine(url), make_engine(url)
    wins = sum(claim(engine, "shared", 3) for engine in (first, second, first, second, first))
    assert wins == 3
    with SqlUnitOfWork(second, read_only=True) as uow:
        assert uow.agents.load_of("shared") == 3
