"""A bounded pool of answer workers: how many turns run at once, and how many may wait.

A turn blocks (search, then generation in the engine's batch), so it runs on a worker thread
and the event loop stays free for other requests, health checks and metrics. More workers
than the engine decodes together (``generator_slots``) only queue inside the engine; a
request that finds ``max_queue`` others already waiting is refused at once (503, retry)
rather than left to time out. Shutting down waits for the turns in flight: an answer being
written is finished and recorded, never cut off.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.api.metrics import Metrics
from verirag.errors import VeriragError

T = TypeVar("T")


class Busy(VeriragError):
    """Every worker is busy and the queue is full."""


class AnswerPool:
    def __init__(self, workers: int, max_queue: int, metrics: Metrics) -> None:
        self.workers = workers
        self.max_queue = max_queue
        self.metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="verirag-answer")
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0

    @property
    def depth(self) -> int:
        return self._waiting

    def _track(self, waiting: int, running: int) -> None:
        with self._lock:
            self._waiting += waiting
            self._running += running
            self.metrics.queue_depth.set(self._waiting)
            self.metrics.in_flight.set(self._running)

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``fn`` on a worker; the awaitable result (Busy when the queue is full)."""
        with self._lock:
            if self._waiting >= self.max_queue:
                raise Busy(f"the server is answering {self._running} questions with "
                           f"{self._waiting} waiting; retry in a few seconds")
        self._track(1, 0)

        def run() -> T:
            self._track(-1, 1)
            try:
                return fn()
            finally:
                self._track(0, -1)

        future = self._executor.submit(run)
        # A queued answer whose caller gave up (a timeout) is cancelled before it runs: its
        # place in the queue is given back here, since ``run`` never will.
        future.add_done_callback(lambda f: self._track(-1, 0) if f.cancelled() else None)
        return asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Finish the turns in flight; drop those still queued (their callers are gone)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
