"""A cross-process writer lock per knowledge base (``fcntl.flock`` on a lock file).

Writers (ingest, delete, rebuild, repair) hold it for their whole run, so a document found in
status ``indexing`` by a lock holder belongs to a process that died. Readers never take it:
they only ever see committed SQL rows and atomically replaced index files. Re-entry from the
same thread is allowed (a rebuild inside an ingest) and does not lock twice.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from verirag.errors import KnowledgeBaseError


class _PathLock:
    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.depth = 0


_locks: dict[str, _PathLock] = {}
_guard = threading.Lock()


def _path_lock(path: Path) -> _PathLock:
    with _guard:
        return _locks.setdefault(str(path.resolve()), _PathLock())


@contextmanager
def writer_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the writer lock; with ``wait=False`` yield False instead of blocking."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plock = _path_lock(path)
    if not plock.rlock.acquire(blocking=wait):
        yield False
        return
    fd: int | None = None
    try:
        if plock.depth == 0:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            except OSError as exc:
                raise KnowledgeBaseError(f"cannot lock {path}: {exc}") from exc
        plock.depth += 1
        try:
            yield True
        finally:
            plock.depth -= 1
    finally:
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock
        plock.rlock.release()
