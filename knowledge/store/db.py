"""Engine and session creation for any SQLAlchemy URL (SQLite by default).

SQLite gets WAL mode, foreign keys and a busy timeout so a chat reading while an ingest writes
neither fails nor sees half a transaction. The schema is brought up to date by Alembic
migrations (:mod:`knowledge.store.migrate`), never by ``create_all``, so a database made by an
older verirag gains new columns and tables instead of silently lacking them.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from knowledge.store.migrate import upgrade

_WAL_ATTEMPTS = 100


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    _enable_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _enable_wal(cur: sqlite3.Cursor) -> None:
    """Switch the file to WAL, which persists in the file, so normally only its first opener does.

    Switching needs a moment when no other connection holds a lock, and SQLite answers a clash
    with an immediate "database is locked" without waiting out the busy timeout. Two processes
    opening a new database at once (an ingest while the UI starts) clash exactly there, so the
    mode is re-read and the switch retried until whoever won has finished it.
    """
    for attempt in range(1, _WAL_ATTEMPTS + 1):
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_ATTEMPTS:
                raise
            time.sleep(0.02 * min(attempt, 10))


def _private_file(db: Path) -> None:
    """Create the database file (and its folder) readable by its owner only.

    It holds password hashes, restricted passages and the audit log. SQLite gives its -wal
    and -shm files the database file's permissions, so they follow. Existing files and
    folders are left as their owner set them.
    """
    if not db.parent.exists():
        db.parent.mkdir(parents=True, mode=0o700)
        db.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    if not db.exists():
        os.close(os.open(db, os.O_CREAT | os.O_WRONLY, 0o600))
        db.chmod(0o600)


def make_engine(url: str) -> Engine:
    """Create the engine and migrate the database to the current schema."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
