from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from triage.adapters.sql_agent_loads import SqlAgentLoadStore, agent_loads

pytestmark = pytest.mark.integration

THREADS = 16
CLAIMS_PER_THREAD = 10
CAPACITY = 7


def race_for_one_agent(store: SqlAgentLoadStore, agent_id: str) -> int:
    """Many threads claim the same agent at once; returns how many claims succeeded."""
    wins = []
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        for _ in range(CLAIMS_PER_THREAD):
            if store.claim(agent_id, CAPACITY):
                wins.append(1)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(wins)


def check_store(store: SqlAgentLoadStore) -> None:
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    assert race_for_one_agent(store, agent_id) == CAPACITY
    assert store.load_of(agent_id) == CAPACITY
    store.release(agent_id)
    assert store.load_of(agent_id) == CAPACITY - 1
    assert store.claim(agent_id, CAPACITY)
    assert not store.claim(agent_id, CAPACITY)
    for _ in range(CAPACITY + 3):
        store.release(agent_id)
    assert store.load_of(agent_id) == 0  # never below zero
    assert store.loads([agent_id, "unknown"]) == {agent_id: 0, "unknown": 0}


def test_threads_racing_on_sqlite_never_exceed_capacity(tmp_path: Path):
    store = SqlAgentLoadStore.from_url(f"sqlite:///{tmp_path / 'loads.db'}")
    check_store(store)


def test_two_stores_on_one_sqlite_file_share_the_limit(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'loads.db'}"
    first, second = SqlAgentLoadStore.from_url(url), SqlAgentLoadStore.from_url(url)
    wins = sum(store.claim("shared", 3) for store in (first, second, first, second, first))
    assert wins == 3 and second.load_of("shared") == 3


@pytest.mark.postgres
def test_threads_racing_on_postgres_never_exceed_capacity():
    url = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set TRIAGE_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@localhost/triage_test) to run")
    engine = create_engine(url, pool_size=THREADS, max_overflow=4)
    try:
        store = SqlAgentLoadStore(engine)
        check_store(store)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {agent_loads.name} WHERE agent_id LIKE 'agent-%'"))
        engine.dispose()
