"""A signed-in user's rights, as plain data the UI and services check before acting.

Kept free of the database so a page can hold one in its session and check it on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from verirag.errors import AuthError

ROLES: tuple[str, ...] = ("viewer", "editor", "admin")  # each includes the ones before it
ALL_PACKS = "*"
# The least role each action needs.
ACTIONS: dict[str, str] = {
    "chat": "viewer",
    "upload": "editor", "delete": "editor", "reindex": "editor", "label": "editor",
    "evaluate": "admin", "adapters": "admin", "users": "admin", "audit": "admin",
}


def role_rank(role: str | None) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


@dataclass(frozen=True)
class Grant:
    pack: str
    role: str
    clearance: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Principal:
    name: str
    grants: tuple[Grant, ...] = ()
    signed_in_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def _applying(self, pack: str) -> list[Grant]:
        return [g for g in self.grants if g.pack in (pack, ALL_PACKS)]

    def role(self, pack: str) -> str | None:
        """The highest role held on ``pack``, directly or through ``*``."""
        best = max(self._applying(pack), key=lambda g: role_rank(g.role), default=None)
        return best.role if best else None

    def clearance(self, pack: str) -> frozenset[str]:
        """Labels readable in ``pack``: the union over the grants that apply to it."""
        return frozenset().union(*(g.clearance for g in self._applying(pack)))

    def can(self, pack: str, action: str) -> bool:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
        return role_rank(self.role(pack)) >= role_rank(ACTIONS[action])

    def require(self, pack: str, action: str) -> None:
        if not self.can(pack, action):
            need = ACTIONS[action]
            raise AuthError(f"{self.name} may not {action} in '{pack}': that needs the {need} "
                            f"role (ask an admin: verirag users grant {self.name} {pack} {need})")

    def packs(self, known: list[str], action: str = "chat") -> list[str]:
        """The packs among ``known`` where this user may do ``action``."""
        return [p for p in known if self.can(p, action)]

    def expired(self, minutes: float, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) - self.signed_in_at > timedelta(minutes=minutes)
