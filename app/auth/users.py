"""Users, their per-pack roles and clearances, and logins — stored in SQL, every change audited.

Passwords are hashed with argon2id (salted, memory-hard; parameters in the hash, so they can be
raised later without breaking old hashes). A failed login is written to the audit log, and the
log is also the rate limiter: after ``max_failures`` failures for one name within
``lockout_minutes`` further attempts are refused without checking the password, so guessing
stays slow even across processes. Attempts on one name are checked one at a time in a process,
so a burst of parallel guesses cannot all pass the count before the first failure is written.
A password change clears the lockout (the advice the lockout message gives) and ends sign-ins
made before it. An unknown name costs the same hash check as a known one, and is audited as a
fingerprint, not as typed: people type passwords into the user-name field.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app.audit import AuditLog
from app.auth.principal import ALL_PACKS, ROLES, Grant, Principal
from app.auth.records import GrantRow, UserRow
from knowledge.kb import normalize_labels
from verirag.errors import AuthError, LoginThrottled, SessionRevoked, VeriragError

MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")


@dataclass(frozen=True)
class UserInfo:
    name: str
    active: bool
    created_at: datetime
    grants: tuple[Grant, ...]


def clean_labels(labels: Iterable[str]) -> frozenset[str]:
    out = frozenset(normalize_labels(labels))
    bad = sorted(label for label in out if not _LABEL.match(label))
    if bad:
        raise VeriragError(f"invalid label {bad[0]!r}: use letters, digits, '-', '_' or '.'")
    return out


class UserStore:
    def __init__(self, engine: Engine, audit: AuditLog, *, max_failures: int = 5,
                 lockout_minutes: float = 15.0, hasher: PasswordHasher | None = None) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.audit = audit
        self.max_failures = max_failures
        self.lockout = timedelta(minutes=lockout_minutes)
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None
        # Striped locks: bounded memory however many names are tried.
        self._locks = [threading.Lock() for _ in range(64)]

    # --- administration (each change is audited with the acting user) -----------------------

    def add(self, name: str, password: str, *, actor: str) -> None:
        _check_name(name)
        _check_password(password)
        with self.sessions.begin() as s:
            if self._find(s, name) is not None:
                raise VeriragError(f"user '{name}' already exists")
            s.add(UserRow(name=name, password_hash=self.hasher.hash(password)))
        self.audit.record(actor, "user_add", user=name)

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        _check_password(password)
        with self.sessions.begin() as s:
            self._get(s, name).password_hash = self.hasher.hash(password)
        self.audit.record(actor, "user_password", user=name)

    def remove(self, name: str, *, actor: str) -> None:
        with self.sessions.begin() as s:
            s.delete(self._get(s, name))
        self.audit.record(actor, "user_remove", user=name)

    def grant(self, name: str, pack: str, role: str, clearance: Iterable[str] = (), *,
              actor: str) -> None:
        """Give ``name`` ``role`` on ``pack`` (``*``: every pack); replaces an earlier grant."""
        if role not in ROLES:
            raise VeriragError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        labels = clean_labels(clearance)
        with self.sessions.begin() as s:
            user = self._get(s, name)
            row = next((g for g in user.grants if g.pack == pack), None)
            if row is None:
                user.grants.append(GrantRow(pack=pack, role=role, clearance=sorted(labels)))
            else:
                row.role, row.clearance = role, sorted(labels)
        self.audit.record(actor, "role_grant", pack if pack != ALL_PACKS else "", user=name,
                          role=role, scope=pack, clearance=sorted(labels))

    def revoke(self, name: str, pack: str, *, actor: str) -> None:
        with self.sessions.begin() as s:
            user = self._get(s, name)
            row = next((g for g in user.grants if g.pack == pack), None)
            if row is None:
                raise VeriragError(f"user '{name}' holds no role on '{pack}'")
            user.grants.remove(row)
        self.audit.record(actor, "role_revoke", pack if pack != ALL_PACKS else "", user=name,
                          scope=pack)

    def list(self) -> list[UserInfo]:
        with self.sessions() as s:
            users = s.scalars(select(UserRow).options(selectinload(UserRow.grants))
                              .order_by(UserRow.name)).all()
            return [UserInfo(u.name, u.active, u.created_at, _grants(u)) for u in users]

    def bootstrap_admin(self, secret_file: Path, name: str = "admin") -> str | None:
        """On a database with no users, create ``name`` as admin of every pack with a random
        password written to ``secret_file`` (owner-only, the password alone on its line, so
        the file's content pastes into the password field); returns it, or None if users
        exist.

        So the README's one command opens an app someone can sign in to, without a password
        everyone knows; ``verirag users passwd admin`` replaces it.
        """
        if not self.is_empty():
            return None
        password = secrets.token_urlsafe(12)
        self.add(name, password, actor="setup")
        self.grant(name, ALL_PACKS, "admin", actor="setup")
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.touch(mode=0o600, exist_ok=True)
        secret_file.chmod(0o600)
        secret_file.write_text(password + "\n", encoding="utf-8")  # pasted as it is
        return password

    def is_empty(self) -> bool:
        with self.sessions() as s:
            return s.scalar(select(UserRow.id).limit(1)) is None

    def principal(self, name: str, signed_in_at: datetime | None = None) -> Principal:
        """The user's current rights (re-read: a revoked role takes effect on the next check).

        With ``signed_in_at`` (a sign-in being resumed) a password changed since then ends it.
        """
        with self.sessions() as s:
            user = self._get(s, name)
            if not user.active:
                raise AuthError(f"user '{name}' is disabled")
            grants = _grants(user)
        if signed_in_at is not None:
            changed = self.audit.last_about("user_password", name)
            if changed is not None and changed > signed_in_at:
                raise SessionRevoked(f"the password of '{name}' was changed; sign in again")
            return Principal(name, grants, signed_in_at)
        return Principal(name, grants)

    # --- login ------------------------------------------------------------------------------

    def authenticate(self, name: str, password: str) -> Principal:
        with self.sessions() as s:
            user = self._find(s, name) if _NAME.match(name) else None
            stored = user.password_hash if user is not None and user.active else None
        # An unknown name is audited as a fingerprint, never as typed: people type passwords
        # into the name field (failures still count per typed name).
        key = name if user is not None else (
            "unknown:" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12])
        with self._locks[int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 64]:
            now = datetime.now(UTC)
            since = now - self.lockout
            reset = self.audit.last_about("user_password", name) if key == name else None
            failures = self.audit.count("login_failed", key, max(since, reset or since))
            if failures >= self.max_failures:
                last = self.audit.last("login_failed", key) or now
                wait = max(1, round((last + self.lockout - now).total_seconds() / 60))
                self.audit.record(key, "login_throttled")
                raise LoginThrottled(f"too many failed logins for '{name}'; try again in "
                                     f"{wait} minute(s) or ask an admin to reset the password")
            if not self._verify(stored, password):
                self.audit.record(key, "login_failed")
                raise AuthError("wrong user name or password")
        self.audit.record(name, "login")
        return self.principal(name)

    def _verify(self, stored: str | None, password: str) -> bool:
        if stored is None:  # same work as a real check, so timing does not reveal the name
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash("not-a-password")
            stored, password = self._dummy_hash, password + "\0"
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _find(s: Session, name: str) -> UserRow | None:
        return s.scalar(select(UserRow).where(UserRow.name == name)
                        .options(selectinload(UserRow.grants)))

    def _get(self, s: Session, name: str) -> UserRow:
        user = self._find(s, name)
        if user is None:
            raise VeriragError(f"no user '{name}' (see `verirag users list`)")
        return user


def _grants(user: UserRow) -> tuple[Grant, ...]:
    return tuple(Grant(g.pack, g.role, frozenset(g.clearance or ())) for g in user.grants)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise VeriragError(f"invalid user name {name!r}: 1-64 letters, digits, '_', '.', '@' "
                           "or '-', starting with a letter or digit")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise VeriragError(f"the password is too short: use at least {MIN_PASSWORD} characters")
