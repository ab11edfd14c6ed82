"""Micro-batching: concurrent triage requests share one pipeline (and encoder) call.

A request hands its texts to :meth:`MicroBatcher.submit` and gets a future. One background thread waits for the
first request, then up to ``max_wait`` for more (never beyond ``max_batch`` texts), runs the pipeline once on all of
them, and resolves every future with its own slice. Encoding 32 texts at once costs far less than 32 single calls
on a CPU, so under load each request waits a few milliseconds and the service triages several times more tickets
per second (``bench/bench_service.py`` measures it).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from triage.domain.ticket import Ticket
from triage.engine.pipeline import TriagePipeline
from triage.engine.results import TriageResult


@dataclass
class _Request:
    texts: list[str]
    tickets: list[Ticket | None]
    future: Future[list[TriageResult]] = field(default_factory=Future)


class MicroBatcher:
    """Collects concurrent triage requests into bounded batches, off the caller's thread.

    Args:
        pipeline: Returns the pipeline to use now (so a hot-reloaded model is picked up between batches).
        max_batch: Most texts in one pipeline call.
        max_wait: Seconds to wait for more requests after the first one arrives.

    Example:
        >>> batcher = MicroBatcher(lambda: pipeline, max_batch=32, max_wait=0.005).start()
        >>> results = batcher.submit(["VPN is down"]).result()
    """

    def __init__(self, pipeline: Callable[[], TriagePipeline], *, max_batch: int = 32, max_wait: float = 0.005) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be >= 1 and max_wait >= 0")
        self._pipeline = pipeline
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.batches = 0  # pipeline calls so far (for tests and metrics)

    def start(self) -> MicroBatcher:
        """Start the batching thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="triage-micro-batcher", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Finish the requests already handed in, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, texts: Sequence[str], tickets: Sequence[Ticket | None] | None = None) -> Future[list[TriageResult]]:
        """Queue texts for triage; the future resolves to one result per text (or the pipeline's exception)."""
        if self._thread is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        request = _Request(list(texts), list(tickets) if tickets is not None else [None] * len(texts))
        self._queue.put(request)
        return request.future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch, size = [first], len(first.texts)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
                size += len(nxt.texts)
            self._triage(batch)

    def _triage(self, batch: list[_Request]) -> None:
        texts = [t for r in batch for t in r.texts]
        tickets = [t for r in batch for t in r.tickets]
        try:
            results = self._pipeline().batch(texts, tickets)
        except Exception as exc:  # one bad request must not fail its neighbours: retry each alone
            if len(batch) > 1:
                for request in batch:
                    self._triage([request])
            else:
                batch[0].future.set_exception(exc)
            return
        self.batches += 1
        start = 0
        for request in batch:
            request.future.set_result(results[start : start + len(request.texts)])
            start += len(request.texts)

