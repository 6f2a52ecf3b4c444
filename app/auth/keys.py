"""API keys and web sign-ins: created per user, shown once, stored hashed, revocable, expiring.

A key is ``vr-<prefix>-<secret>``: the prefix finds the row (and names the key in lists and
the audit log), the secret's SHA-256 is compared in constant time. Keys are 32 random bytes,
so a plain hash is enough — guessing is hopeless, and a request must not pay a memory-hard
password hash. A key acts as its user with that user's *current* roles: a role revoked or a
user disabled takes effect on the next request.

A web sign-in is the same kind of token (``kind="web"``), kept in the browser's cookie so a
reload or a new tab stays signed in: it expires after ``session_minutes``, signing out
revokes it, and a password change ends it (an API key survives a password change: a
service's key is not the person's login).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import sessionmaker

from app.audit import AuditLog
from app.auth.principal import Principal
from app.auth.records import ApiKeyRow, UserRow
from app.auth.users import UserStore
from knowledge.store.schema import as_utc
from verirag.errors import AuthError, VeriragError

_KEY = re.compile(r"^vr-([a-z0-9]{8})-([A-Za-z0-9_-]{20,64})$")
_DURATION = re.compile(r"^(\d+)\s*([dhm])$")
LAST_USED_EVERY = timedelta(minutes=1)


class KeyRejected(AuthError):
    """No key, an unknown, revoked or expired key, or a key of a disabled user."""


@dataclass(frozen=True)
class KeyInfo:
    id: int
    prefix: str
    user: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    kind: str = "api"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and as_utc(self.expires_at) <= datetime.now(UTC):
            return "expired"
        return "active"


def parse_duration(text: str) -> timedelta:
    """"90d", "12h", "30m" -> a timedelta; anything else is refused with the format."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise VeriragError(f"expiry {text!r} is not a duration: write e.g. 90d, 12h or 30m")
    n, unit = int(match.group(1)), match.group(2)
    return timedelta(days=n) if unit == "d" else timedelta(hours=n) if unit == "h" else \
        timedelta(minutes=n)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class KeyStore:
    def __init__(self, engine: Engine, audit: AuditLog, users: UserStore) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.audit = audit
        self.users = users

    def create(self, user: str, *, actor: str, label: str = "",
               expires_in: timedelta | None = None, kind: str = "api") -> tuple[str, KeyInfo]:
        """A new key for ``user``; the key itself is returned here and never again. A web
        sign-in is not audited here: its login row already is."""
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + expires_in if expires_in else None
        with self.sessions.begin() as s:
            if kind == "web":  # sign-ins over a day past their end are of no use to anyone
                s.execute(delete(ApiKeyRow).where(
                    ApiKeyRow.kind == "web",
                    ApiKeyRow.expires_at < datetime.now(UTC) - timedelta(days=1)))
            owner = s.scalar(select(UserRow).where(UserRow.name == user))
            if owner is None:
                raise VeriragError(f"no user '{user}' (see `verirag users list`)")
            row = ApiKeyRow(user_id=owner.id, prefix=prefix, key_hash=_digest(secret),
                            label=label.strip()[:128], expires_at=expires, kind=kind,
                            created_at=datetime.now(UTC))
            s.add(row)
            s.flush()
            info = _info(row, user)
        if kind == "api":
            self.audit.record(actor, "key_add", user=user, key=prefix, label=info.label,
                              expires=expires.isoformat() if expires else None)
        return f"vr-{prefix}-{secret}", info

    def list(self, user: str | None = None, kind: str = "api") -> list[KeyInfo]:
        with self.sessions() as s:
            q = (select(ApiKeyRow, UserRow.name).join(UserRow).where(ApiKeyRow.kind == kind)
                 .order_by(ApiKeyRow.id))
            if user is not None:
                q = q.where(UserRow.name == user)
            return [_info(row, name) for row, name in s.execute(q)]

    def revoke(self, prefix: str, *, actor: str) -> KeyInfo:
        """Revoke by prefix (``vr-PREFIX-...`` or the bare 8 characters)."""
        prefix = prefix.removeprefix("vr-").split("-")[0]
        with self.sessions.begin() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
            if row is None:
                raise VeriragError(f"no API key '{prefix}' (see `verirag users key list`)")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            info = _info(row, row.user.name)
        if info.kind == "api":
            self.audit.record(actor, "key_revoke", user=info.user, key=prefix)
        return info

    def principal(self, key: str | None, kind: str = "api") -> Principal:
        """The user a request's key acts as, with their current roles; KeyRejected otherwise.

        The message never says whether a key exists, only what to do. A web sign-in's
        principal carries the moment it signed in (its expiry and a later password change
        end it).
        """
        if not key:
            raise KeyRejected("no API key: send 'Authorization: Bearer vr-...' (create one "
                              "with `verirag users key add NAME`)")
        match = _KEY.match(key.strip())
        if match is None:
            raise KeyRejected("the API key is malformed: it looks like vr-xxxxxxxx-... "
                              "(create one with `verirag users key add NAME`)")
        prefix, secret = match.groups()
        with self.sessions() as s:
            found = s.execute(select(ApiKeyRow, UserRow.name).join(UserRow)
                              .where(ApiKeyRow.prefix == prefix)).first()
        row, name = found if found is not None else (None, "")
        expected = row.key_hash if row is not None else _digest("no-such-key")
        if not hmac.compare_digest(expected, _digest(secret)) or row is None \
                or row.kind != kind:
            raise KeyRejected("the API key is not valid; ask an admin for a new one")
        info = _info(row, name)
        if info.state != "active":
            raise KeyRejected(f"the API key vr-{prefix}-… is {info.state}; ask an admin for a "
                              "new one")
        now = datetime.now(UTC)
        if row.last_used_at is None or now - as_utc(row.last_used_at) > LAST_USED_EVERY:
            with self.sessions.begin() as s:  # not on every request: one write a minute
                s.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id)
                          .values(last_used_at=now))
        try:
            if kind == "web":
                return self.users.principal(name, signed_in_at=as_utc(row.created_at))
            return self.users.principal(name)
        except AuthError as exc:
            raise KeyRejected(str(exc)) from exc


def _info(row: ApiKeyRow, user: str) -> KeyInfo:
    return KeyInfo(row.id, row.prefix, user, row.label, as_utc(row.created_at),
                   row.expires_at, row.revoked_at, row.last_used_at, row.kind)
