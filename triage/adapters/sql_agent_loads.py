"""SQLAlchemy 2 Core implementation of :class:`~triage.ports.AgentLoadStore` (SQLite and PostgreSQL).

``claim`` is one conditional UPDATE (``SET load = load + 1 WHERE agent_id = :id AND load < :capacity``):
the database serialises concurrent updates of the same row, and the row count says who won, so routers
in different processes can never push an agent over capacity.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from triage.ports import AgentLoadStore

metadata = MetaData()

agent_loads = Table(
    "agent_loads",
    metadata,
    Column("agent_id", String(128), primary_key=True),
    Column("load", Integer, nullable=False, default=0),
)


class SqlAgentLoadStore(AgentLoadStore):
    """Agent loads in the ``agent_loads`` table.

    Args:
        engine: A SQLAlchemy engine (SQLite or PostgreSQL).
        create_tables: Create the table if it does not exist (tests, embedded set-ups).

    Example:
        >>> store = SqlAgentLoadStore.from_url("sqlite:///var/triage.db")
        >>> store.claim("wang.lei", capacity=6)
        True
    """

    def __init__(self, engine: Engine, *, create_tables: bool = True) -> None:
        self.engine = engine
        if create_tables:
            metadata.create_all(engine, tables=[agent_loads])

    @classmethod
    def from_url(cls, url: str, **engine_kwargs: object) -> SqlAgentLoadStore:
        """Build a store from a database URL; SQLite gets a generous lock timeout for concurrent writers."""
        if url.startswith("sqlite") and "connect_args" not in engine_kwargs:
            engine_kwargs["connect_args"] = {"timeout": 30}
        return cls(create_engine(url, **engine_kwargs))  # type: ignore[arg-type]

    def _ensure_row(self, agent_id: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(agent_loads.c.agent_id).where(agent_loads.c.agent_id == agent_id)).first():
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(agent_loads).values(agent_id=agent_id, load=0))
        except IntegrityError:
            pass  # another router inserted it first; the row exists, which is all we need

    def claim(self, agent_id: str, capacity: int) -> bool:
        """Atomically take one slot (see :meth:`AgentLoadStore.claim`)."""
        self._ensure_row(agent_id)
        stmt = (
            update(agent_loads)
            .where(agent_loads.c.agent_id == agent_id, agent_loads.c.load < capacity)
            .values(load=agent_loads.c.load + 1)
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def release(self, agent_id: str) -> None:
        """Give one slot back; the load never goes below zero."""
        stmt = (
            update(agent_loads)
            .where(agent_loads.c.agent_id == agent_id, agent_loads.c.load > 0)
            .values(load=agent_loads.c.load - 1)
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def load_of(self, agent_id: str) -> int:
        """Current load of one agent (0 if it has no row yet)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(agent_loads.c.load).where(agent_loads.c.agent_id == agent_id)).scalar()
        return int(value or 0)

    def loads(self, agent_ids: list[str]) -> dict[str, int]:
        """Loads of several agents in one query."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(agent_loads.c.agent_id, agent_loads.c.load).where(agent_loads.c.agent_id.in_(agent_ids))
            )
            found = {row.agent_id: int(row.load) for row in rows}
        return {agent_id: found.get(agent_id, 0) for agent_id in agent_ids}
