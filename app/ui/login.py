"""Signing in and out of the web app; who is signed in, re-checked on every page run.

A session holds the user's ``Principal``; every run re-reads the user's roles (a revoked role
or a removed user takes effect at once) and ends the session after ``session_minutes``.
"""

from __future__ import annotations

import streamlit as st

from app.auth.principal import Principal
from app.services import Runtime
from app.ui.i18n import language_picker, tr
from verirag.errors import AuthError, SessionRevoked, VeriragError

PRINCIPAL_KEY = "principal"
_NOTICE_KEY = "login-notice"


def signed_in(rt: Runtime) -> Principal | None:
    """The signed-in user with current rights, or None (expired, removed, or never signed in)."""
    who: Principal | None = st.session_state.get(PRINCIPAL_KEY)
    if who is None:
        return None
    if who.expired(rt.resources.settings.session_minutes):
        sign_out(tr("Your session expired; please sign in again."))
        return None
    try:
        fresh = rt.users.principal(who.name, signed_in_at=who.signed_in_at)
    except SessionRevoked:
        sign_out(tr("Your password was changed; please sign in again."))
        return None
    except VeriragError:
        sign_out(tr("Your account is no longer active."))
        return None
    st.session_state[PRINCIPAL_KEY] = fresh
    return fresh


def current_user() -> Principal:
    """The signed-in user (the entry script lets no page run without one)."""
    who: Principal = st.session_state[PRINCIPAL_KEY]
    return who


def sign_out(notice: str = "") -> None:
    """Forget everything this browser session held (chat, choices), keeping only a notice."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[_NOTICE_KEY] = notice


def login_page(rt: Runtime) -> None:
    language_picker()
    st.title("verirag")
    st.caption(tr("Grounded, cited answers from your institution's documents."))
    if notice := st.session_state.pop(_NOTICE_KEY, None):
        st.info(notice, icon=":material/info:")
    if rt.users.is_empty():
        st.warning(tr("No users yet. Create the first administrator on the server with "
                      "`verirag users add NAME --admin`."), icon=":material/person_add:")
    with st.form("login"):
        name = st.text_input(tr("User name"))
        password = st.text_input(tr("Password"), type="password")
        submitted = st.form_submit_button(tr("Sign in"), type="primary")
    if submitted:
        try:
            st.session_state[PRINCIPAL_KEY] = rt.users.authenticate(name.strip(), password)
        except AuthError as exc:
            st.error(str(exc), icon=":material/lock:")
            return
        st.rerun()


def account_box(rt: Runtime, who: Principal, pack: str) -> None:
    """Sidebar: who is signed in, their role here, and the way out."""
    role = who.role(pack) or tr("no role")
    st.caption(tr("Signed in as **{name}** · {role}", name=who.name, role=role))
    if st.button(tr("Sign out"), icon=":material/logout:", key="sign-out"):
        rt.audit.record(who.name, "logout")
        sign_out(tr("Signed out."))
        st.rerun()
