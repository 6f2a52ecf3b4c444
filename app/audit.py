"""The audit log: who did what, when, in which pack — appended, searched, exported.

Rows live in ``audit_log`` (``app.dialog.records.AuditRow``); nothing in verirag updates or
deletes them, and each is chained by hash to the one before (``app.dialog.audit_chain``), so
``verify`` finds a row edited or removed with other tools. Answers are recorded by the session
store with the turn; this module records everything else (logins, uploads, deletes, labels,
role changes) and reads the log back.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from app.auth.principal import ALL_PACKS, Principal
from app.dialog.audit_chain import Verdict
from app.dialog.audit_chain import append as append_audit
from app.dialog.audit_chain import verify as verify_chain
from app.dialog.records import AuditRow
from knowledge.store.schema import as_utc
from verirag.errors import AuthError, VeriragError

FORMATS = ("jsonl", "csv")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    pack: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor,
                "action": self.action, "pack": self.pack, "detail": self.detail}


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def record(self, actor: str, action: str, pack: str = "", **detail: Any) -> None:
        with self.sessions.begin() as s:
            append_audit(s, actor, action, pack, detail)

    def verify(self) -> Verdict:
        """Walk the whole hash chain; the verdict names the first broken row, if any."""
        with self.sessions() as s:
            return verify_chain(s.scalars(select(AuditRow).order_by(AuditRow.id))
                                .yield_per(1000))

    def count(self, action: str, actor: str, since: datetime) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(AuditRow).where(
                AuditRow.action == action, AuditRow.actor == actor, AuditRow.at >= since)) or 0

    def last(self, action: str, actor: str) -> datetime | None:
        with self.sessions() as s:
            at = s.scalar(select(func.max(AuditRow.at)).where(
                AuditRow.action == action, AuditRow.actor == actor))
        return as_utc(at) if at else None

    def last_about(self, action: str, user: str) -> datetime | None:
        """When ``action`` was last done to ``user`` (``detail.user``), by whoever did it."""
        with self.sessions() as s:
            at = s.scalar(select(func.max(AuditRow.at)).where(
                AuditRow.action == action, AuditRow.detail["user"].as_string() == user))
        return as_utc(at) if at else None

    def search_for(self, principal: Principal, packs: Iterable[str],
                   **filters: Any) -> list[AuditEntry]:
        """:meth:`search` as ``principal`` may see it: an admin of every pack (``*``) reads the
        whole log; an admin of some packs reads those packs' rows only (answers in another
        pack, and sign-ins and user changes, which belong to no pack, stay hidden)."""
        if principal.can(ALL_PACKS, "audit"):
            return self.search(**filters)
        mine = [p for p in packs if principal.can(p, "audit")]
        if not mine:
            raise AuthError(f"{principal.name} may not read the audit log: that needs the "
                            "admin role on a pack")
        wanted = filters.pop("pack", None)
        if wanted is not None and wanted not in mine:
            return []
        return self.search(**filters, pack=wanted, packs=mine)

    def search(self, *, since: datetime | None = None, until: datetime | None = None,
               actor: str | None = None, action: str | None = None, pack: str | None = None,
               packs: Iterable[str] | None = None, text: str | None = None,
               limit: int | None = None) -> list[AuditEntry]:
        """Entries oldest first; ``text`` matches the actor, action, pack or detail;
        ``packs`` keeps only rows of those packs."""
        query = select(AuditRow).order_by(AuditRow.at, AuditRow.id)
        if packs is not None:
            query = query.where(AuditRow.pack.in_(list(packs)))
        if since:
            query = query.where(AuditRow.at >= since)
        if until:
            query = query.where(AuditRow.at <= until)
        for column, value in ((AuditRow.actor, actor), (AuditRow.action, action),
                              (AuditRow.pack, pack)):
            if value:
                query = query.where(column == value)
        with self.sessions() as s:
            rows: Sequence[AuditRow] = s.scalars(query).all()
        entries = [AuditEntry(r.id, as_utc(r.at), r.actor, r.action, r.pack, dict(r.detail))
                   for r in rows]
        if text:
            needle = text.lower()
            entries = [e for e in entries if needle in json.dumps(
                e.to_json(), ensure_ascii=False).lower()]
        return entries[-limit:] if limit else entries


def write_entries(entries: Iterable[AuditEntry], fmt: str, out: TextIO) -> int:
    """Write entries as JSON lines or CSV (detail as a JSON cell); returns how many."""
    if fmt not in FORMATS:
        raise VeriragError(f"unknown audit format {fmt!r}; use one of: {', '.join(FORMATS)}")
    written = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(["id", "at", "actor", "action", "pack", "detail"])
    for e in entries:
        if writer:
            writer.writerow([e.id, e.at.isoformat(), e.actor, e.action, e.pack,
                             json.dumps(e.detail, ensure_ascii=False)])
        else:
            out.write(json.dumps(e.to_json(), ensure_ascii=False) + "\n")
        written += 1
    return written


__all__ = ["FORMATS", "AuditEntry", "AuditLog", "write_entries"]
