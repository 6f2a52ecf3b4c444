"""API keys and web sign-in tokens: what each is good for, and what ends it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.keys import KeyRejected, parse_duration
from app.services import Runtime
from verirag.errors import SessionRevoked, VeriragError


@pytest.fixture
def rt(fresh_runtime: Runtime) -> Runtime:
    fresh_runtime.users.add("ana", "ana password", actor="test")
    fresh_runtime.users.grant("ana", "legal", "viewer", actor="test")
    return fresh_runtime


def test_a_web_sign_in_ends_with_a_password_change_but_an_api_key_does_not(rt: Runtime) -> None:
    web, info = rt.keys.create("ana", actor="ana", kind="web", expires_in=timedelta(hours=8))
    api, _ = rt.keys.create("ana", actor="admin")
    who = rt.keys.principal(web, kind="web")
    assert who.name == "ana" and who.signed_in_at == info.created_at
    rt.users.set_password("ana", "a new password", actor="ana")
    with pytest.raises(KeyRejected, match=r"password .* was changed") as raised:
        rt.keys.principal(web, kind="web")
    assert isinstance(raised.value.__cause__, SessionRevoked)
    assert rt.keys.principal(api).name == "ana", "a service's key is not the person's login"


def test_a_sign_in_token_is_not_an_api_key_nor_the_reverse(rt: Runtime) -> None:
    web, _ = rt.keys.create("ana", actor="ana", kind="web")
    api, _ = rt.keys.create("ana", actor="admin")
    with pytest.raises(KeyRejected):
        rt.keys.principal(web)
    with pytest.raises(KeyRejected):
        rt.keys.principal(api, kind="web")
    assert [k.kind for k in rt.keys.list("ana")] == ["api"]
    assert [k.kind for k in rt.keys.list("ana", kind="web")] == ["web"]
    assert [e.action for e in rt.audit.search(action="key_add")] == ["key_add"], \
        "a sign-in is audited as the login, not as a key"


def test_expired_revoked_and_disabled(rt: Runtime) -> None:
    old, _ = rt.keys.create("ana", actor="admin", expires_in=timedelta(seconds=-1))
    with pytest.raises(KeyRejected, match="expired"):
        rt.keys.principal(old)
    key, _ = rt.keys.create("ana", actor="admin")
    rt.keys.revoke(key, actor="admin")
    with pytest.raises(KeyRejected, match="revoked"):
        rt.keys.principal(key)
    other, _ = rt.keys.create("ana", actor="admin")
    rt.users.remove("ana", actor="admin")
    with pytest.raises(KeyRejected):
        rt.keys.principal(other)


@pytest.mark.parametrize(("text", "hours"), [("90d", 2160), ("12h", 12), ("30m", 0.5)])
def test_durations(text: str, hours: float) -> None:
    assert parse_duration(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "0d", "3x", "-1d", "1 week"])
def test_bad_durations_say_the_format(text: str) -> None:
    with pytest.raises(VeriragError, match="90d"):
        parse_duration(text)


def test_the_first_admin_password_file_pastes_into_the_sign_in_form(
        fresh_runtime: Runtime) -> None:
    secret = fresh_runtime.resources.settings.admin_password_file
    password = fresh_runtime.users.bootstrap_admin(secret)
    assert password is not None
    assert secret.read_text(encoding="utf-8") == password + "\n", "the password alone"
    assert secret.stat().st_mode & 0o077 == 0, "owner-only"
    typed = secret.read_text(encoding="utf-8").strip()
    assert fresh_runtime.users.authenticate("admin", typed).name == "admin"
    assert fresh_runtime.users.bootstrap_admin(secret) is None, "only on an empty database"


def test_long_expired_sign_ins_are_cleared_when_someone_signs_in(rt: Runtime) -> None:
    rt.keys.create("ana", actor="ana", kind="web", expires_in=timedelta(days=-2))
    rt.keys.create("ana", actor="ana", kind="web", expires_in=timedelta(hours=-1))
    rt.keys.create("ana", actor="admin", expires_in=timedelta(days=-30))
    rt.keys.create("ana", actor="ana", kind="web", expires_in=timedelta(hours=8))
    assert [k.state for k in rt.keys.list("ana", kind="web")] == ["expired", "active"]
    assert [k.state for k in rt.keys.list("ana")] == ["expired"], "API keys are listed, kept"
