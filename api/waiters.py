"""Let a POST wait for its ticket's triage: the worker thread wakes the request's future on the event loop."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class TriageWaiters:
    """Futures of requests waiting for tickets, resolved from the worker's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._waiting: dict[str, list[asyncio.Future[None]]] = defaultdict(list)

    def register(self, number: str) -> asyncio.Future[None]:
        """A future that resolves when ``number`` is triaged (call on the event loop)."""
        future: asyncio.Future[None] = self.loop.create_future()
        self._waiting[number].append(future)
        return future

    def forget(self, number: str, future: asyncio.Future[None]) -> None:
        waiting = self._waiting.get(number)
        if waiting and future in waiting:
            waiting.remove(future)
            if not waiting:
                del self._waiting[number]

    def done(self, numbers: list[str]) -> None:
        """Called from any thread when tickets are triaged."""
        if numbers:
            self.loop.call_soon_threadsafe(self._resolve, numbers)

    def _resolve(self, numbers: list[str]) -> None:
        for number in numbers:
            for future in self._waiting.pop(number, []):
                if not future.done():
                    future.set_result(None)

    async def wait(self, future: asyncio.Future[None], timeout: float) -> bool:
        """Whether the ticket was triaged within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except TimeoutError:
            return False
