"""Ports: abstract interfaces the core needs from the outside world (storage, clocks)."""

from __future__ import annotations

import abc
import threading


class AgentLoadStore(abc.ABC):
    """Counts how many open tickets each agent holds.

    ``claim`` must be atomic across every router that shares the store: two claims racing for the last
    free slot of an agent must not both succeed.
    """

    @abc.abstractmethod
    def claim(self, agent_id: str, capacity: int) -> bool:
        """Take one slot of ``agent_id`` if its load is below ``capacity``.

        Args:
            agent_id: The agent.
            capacity: The agent's maximum number of open tickets.

        Returns:
            ``True`` if the slot was taken, ``False`` if the agent is full.
        """

    @abc.abstractmethod
    def release(self, agent_id: str) -> None:
        """Give one slot of ``agent_id`` back (never below zero)."""

    @abc.abstractmethod
    def load_of(self, agent_id: str) -> int:
        """Current number of open tickets of ``agent_id`` (0 if unknown)."""

    def loads(self, agent_ids: list[str]) -> dict[str, int]:
        """Loads of several agents (override for a single round trip)."""
        return {agent_id: self.load_of(agent_id) for agent_id in agent_ids}


class InMemoryAgentLoadStore(AgentLoadStore):
    """Thread-safe in-process store; the default for a single router process and for tests."""

    def __init__(self) -> None:
        self._loads: dict[str, int] = {}
        self._lock = threading.Lock()

    def claim(self, agent_id: str, capacity: int) -> bool:
        """Take one slot if below capacity (atomic under the store's lock)."""
        with self._lock:
            load = self._loads.get(agent_id, 0)
            if load >= capacity:
                return False
            self._loads[agent_id] = load + 1
            return True

    def release(self, agent_id: str) -> None:
        """Give one slot back (never below zero)."""
        with self._lock:
            self._loads[agent_id] = max(self._loads.get(agent_id, 0) - 1, 0)

    def load_of(self, agent_id: str) -> int:
        """Current load of ``agent_id``."""
        with self._lock:
            return self._loads.get(agent_id, 0)
