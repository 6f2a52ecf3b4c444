"""The audit log as a hash chain: each row carries a hash of its content and of the row
before it, so an edit, a deletion or a reordering made behind verirag's back shows.

Every audit row is written through :func:`append` (the audit log's own records, and the
answer and feedback rows the session store writes with their turn). Appends are serialised so
two writers never chain to the same predecessor: on PostgreSQL by a transaction-level advisory
lock, on SQLite by inserting first (which takes the database's write lock) and only then
reading the predecessor. :func:`verify` walks the chain and names the first broken link.

What a chain cannot show: rows cut off the *end* of the log (the remaining chain is intact).
``verirag audit verify`` prints the newest row's hash; keeping it somewhere else (a ticket, a
second system) closes that gap. Rows written before the chain existed are chained by the
migration that added it, as they stood then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.dialog.records import AuditRow, utcnow
from knowledge.store.schema import as_utc

_PG_LOCK_KEY = 0x7665726972616741  # "veriragA": the audit chain among advisory locks


def _canonical_time(at: datetime) -> str:
    return as_utc(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def row_digest(prev_hash: str, row_id: int, at: datetime, actor: str, action: str, pack: str,
               detail: dict[str, Any]) -> str:
    payload = json.dumps([prev_hash, row_id, _canonical_time(at), actor, action, pack, detail],
                         sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(s: Session, actor: str, action: str, pack: str, detail: dict[str, Any]) -> AuditRow:
    """Add one audit row to the chain inside the caller's transaction."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})"))
    row = AuditRow(actor=actor, action=action, pack=pack, detail=detail, at=utcnow())
    s.add(row)
    s.flush()  # the insert takes SQLite's write lock before the predecessor is read
    prev = s.scalar(select(AuditRow.row_hash).where(AuditRow.id < row.id)
                    .order_by(AuditRow.id.desc()).limit(1)) or ""
    row.prev_hash = prev
    row.row_hash = row_digest(prev, row.id, row.at, actor, action, pack, detail)
    return row


@dataclass(frozen=True)
class Verdict:
    rows: int
    head: str
    broken_at: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(rows: Iterable[AuditRow]) -> Verdict:
    """Check rows in id order: each links to the one before and hashes to what it holds."""
    prev, n = "", 0
    for row in rows:
        n += 1
        if row.prev_hash != prev:
            return Verdict(n, prev, row.id, "its link to the previous row is broken: a row "
                                            "before it was deleted, changed or inserted")
        expected = row_digest(prev, row.id, row.at, row.actor, row.action, row.pack,
                              dict(row.detail))
        if row.row_hash != expected:
            return Verdict(n, prev, row.id, "its content was changed after it was written")
        prev = row.row_hash
    return Verdict(n, prev)
