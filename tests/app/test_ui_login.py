"""Signing in to the web app: nothing without a login, only one's own packs and pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.auth.principal import Grant, Principal
from app.services import Runtime
from app.ui import state
from app.ui.login import PRINCIPAL_KEY, TOKEN_KEY
from app.ui.navigation import visible_pages
from tests.app.signin import PASSWORD, ensure_user

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "main.py")


@pytest.fixture
def app_test(fresh_runtime: Runtime) -> Iterator[AppTest]:
    state.use_runtime(fresh_runtime)
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.session_state["verirag_ready"] = True  # these tests are about the door, not the packs
    yield at
    state.use_runtime(None)


def _login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_nothing_but_the_sign_in_form_without_a_login(app_test: AppTest,
                                                      fresh_runtime: Runtime) -> None:
    at = app_test.run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.selectbox and not at.chat_input
    assert "verirag users add NAME --admin" in at.warning[0].value  # no users yet: how to start

    ensure_user(fresh_runtime, "lee", "legal", "viewer")
    at = _login(at, "lee", "not the password")
    assert at.error[0].value == "wrong user name or password"
    assert not at.chat_input

    at = _login(at, "lee", PASSWORD)
    assert at.selectbox(key="pack").options == ["Legal"]  # the only pack lee holds a role on
    assert at.header[0].value == "Legal assistant"
    assert any("Signed in as **lee** · viewer" in c.value for c in at.caption)


def test_sign_out_and_expiry_return_to_the_form(app_test: AppTest,
                                                fresh_runtime: Runtime) -> None:
    ensure_user(fresh_runtime, "kim", "*", "admin")
    who = fresh_runtime.users.principal("kim")
    app_test.session_state[PRINCIPAL_KEY] = who
    at = app_test.run()
    assert at.chat_input
    at = at.button(key="sign-out").click().run()
    assert at.info[0].value == "Signed out." and not at.chat_input

    stale = replace(who, signed_in_at=datetime.now(UTC) - timedelta(days=2))
    at.session_state[PRINCIPAL_KEY] = stale
    at = at.run()
    assert "session expired" in at.info[0].value and not at.chat_input
    actions = [e.action for e in fresh_runtime.audit.search(actor="kim")]
    assert "logout" in actions


def test_signing_in_keeps_a_revocable_sign_in_token_for_reloads(app_test: AppTest,
                                                                fresh_runtime: Runtime) -> None:
    """The form's sign-in leaves a web token (the browser keeps it as a cookie, so a reload
    stays signed in: proven in the real browser, tests/e2e); signing out revokes it."""
    ensure_user(fresh_runtime, "kim", "*", "admin")
    at = _login(app_test.run(), "kim", PASSWORD)
    assert at.chat_input
    (token,) = fresh_runtime.keys.list("kim", kind="web")
    assert token.state == "active" and token.expires_at is not None
    assert at.session_state[TOKEN_KEY].startswith(f"vr-{token.prefix}-")
    assert fresh_runtime.keys.principal(at.session_state[TOKEN_KEY], kind="web").name == "kim"
    assert not fresh_runtime.keys.list("kim"), "not listed among API keys"
    at = at.button(key="sign-out").click().run()
    assert [k.state for k in fresh_runtime.keys.list("kim", kind="web")] == ["revoked"]


def test_signing_out_in_one_tab_ends_the_others(app_test: AppTest,
                                               fresh_runtime: Runtime) -> None:
    ensure_user(fresh_runtime, "kim", "*", "admin")
    tab = _login(app_test.run(), "kim", PASSWORD)
    assert tab.chat_input
    fresh_runtime.keys.revoke(tab.session_state[TOKEN_KEY], actor="kim")  # the other tab
    tab.run()
    assert not tab.chat_input and "signed out" in tab.info[0].value


def test_a_password_change_signs_the_browser_out(app_test: AppTest,
                                                 fresh_runtime: Runtime) -> None:
    ensure_user(fresh_runtime, "kim", "*", "admin")
    app_test.session_state[PRINCIPAL_KEY] = replace(
        fresh_runtime.users.principal("kim"), signed_in_at=datetime.now(UTC) - timedelta(1e-3))
    at = app_test.run()
    assert at.chat_input
    fresh_runtime.users.set_password("kim", "another password", actor="kim")
    at = at.run()
    assert "password was changed" in at.info[0].value and not at.chat_input


def test_a_revoked_role_takes_effect_on_the_next_page_run(app_test: AppTest,
                                                          fresh_runtime: Runtime) -> None:
    ensure_user(fresh_runtime, "max", "finance", "viewer")
    app_test.session_state[PRINCIPAL_KEY] = fresh_runtime.users.principal("max")
    assert app_test.run().chat_input
    fresh_runtime.users.revoke("max", "finance", actor="test")
    at = app_test.run()
    assert not at.chat_input
    assert "holds no role on any pack" in at.warning[0].value


@pytest.mark.parametrize(("role", "titles"), [
    ("viewer", ["Chat"]),
    ("editor", ["Chat", "Documents"]),
    ("admin", ["Chat", "Documents", "Evaluation"]),
])
def test_pages_follow_the_role(role: str, titles: list[str]) -> None:
    who = Principal("p", (Grant("legal", role),))
    visible = [p.title for p in visible_pages(who, "legal")]
    assert visible[: len(titles)] == titles and len(visible) >= len(titles)
    assert all(t in titles or role == "admin" for t in visible)
    assert visible_pages(who, "medical") == []


def test_admins_search_the_audit_log_in_the_app(app_test: AppTest,
                                                fresh_runtime: Runtime) -> None:
    ensure_user(fresh_runtime, "ada", "*", "admin")
    fresh_runtime.users.authenticate("ada", PASSWORD)
    app_test.session_state[PRINCIPAL_KEY] = fresh_runtime.users.principal("ada")
    at = app_test.run()
    at.switch_page("views/5_Audit.py").run()
    assert not at.exception
    at.text_input(key="audit-actor").input("ada").run()
    table = at.dataframe[0].value
    assert "login" in set(table["action"]) and set(table["user"]) == {"ada"}
    assert "signed in" in set(table["what happened"]), "rows read as sentences, not JSON"
    assert at.header[0].value == "Audit log"
    assert {"key_add", "conversation_delete", "label"} <= set(
        at.selectbox(key="audit-action").options), "every audited action can be filtered"
