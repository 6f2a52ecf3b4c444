"""Signing an AppTest session in as a real user of the test's database (the app requires it)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app.services import Runtime
from app.ui.login import PRINCIPAL_KEY

PASSWORD = "test password"


def ensure_user(rt: Runtime, name: str, pack: str = "*", role: str = "admin",
                clearance: tuple[str, ...] = ()) -> None:
    if name not in {u.name for u in rt.users.list()}:
        rt.users.add(name, PASSWORD, actor="test")
    rt.users.grant(name, pack, role, clearance, actor="test")


def sign_in(at: AppTest, rt: Runtime, name: str = "tester", pack: str = "*",
            role: str = "admin") -> AppTest:
    """Put a signed-in principal in the session, as the login form would."""
    ensure_user(rt, name, pack, role)
    at.session_state[PRINCIPAL_KEY] = rt.users.principal(name)
    return at
