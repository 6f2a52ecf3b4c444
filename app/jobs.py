"""Long work (ingesting uploads, re-indexing, evaluation runs) on a background thread.

A web page must never freeze while a knowledge base is re-embedded or an evaluation runs for
minutes, and clicking elsewhere must not abort the work half-way. So the UI hands the work to a
``Job``: a thread that reports progress into a plain object the page polls. A ``VeriragError``
becomes the job's one-line ``error``; anything else is kept as ``error`` too (with its type),
because a server thread has nowhere else to report to — the traceback goes to the log.

Left out: cancellation (an ingest or a rebuild stopped half-way would have to be rolled back;
both are short enough to finish), persistence across server restarts, and a queue (jobs on the
same knowledge base serialise on its writer lock).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from verirag.errors import VeriragError

log = logging.getLogger(__name__)


@dataclass
class Progress:
    done: int = 0
    total: int | None = None
    text: str = ""

    @property
    def fraction(self) -> float:
        if not self.total:
            return 0.0
        return min(1.0, self.done / self.total)


@dataclass
class Job:
    """One unit of background work; ``update`` is handed to the work as its progress callback."""

    kind: str
    label: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    progress: Progress = field(default_factory=Progress)
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    series: list[float] = field(default_factory=list)  # live values to plot (training loss)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    @property
    def ok(self) -> bool:
        return self._done.is_set() and self.error is None

    def update(self, done: int, total: int | None = None, text: str = "") -> None:
        self.progress = Progress(done, total, text or self.progress.text)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests and scripts; pages poll ``running`` instead)."""
        return self._done.wait(timeout)

    def _run(self, work: Callable[[Job], Any]) -> None:
        try:
            self.result = work(self)
        except VeriragError as exc:
            self.error = str(exc)
        except Exception as exc:  # a server thread must report, not vanish; logged in full
            log.exception("background job %s (%s) failed", self.id, self.label)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = time.time()
            self._done.set()


class JobBoard:
    """The jobs of one server process, by id, so a page can find its job after a rerun."""

    def __init__(self, keep: int = 50) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.keep = keep

    def start(self, kind: str, label: str, work: Callable[[Job], Any]) -> Job:
        job = Job(kind, label)
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if not j.running]
            for old in finished[: max(0, len(self._jobs) - self.keep)]:
                self._jobs.pop(old.id, None)
        threading.Thread(target=job._run, args=(work,), name=f"verirag-{kind}-{job.id}",
                         daemon=True).start()
        return job

    def get(self, job_id: str | None) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id or "")
