"""Signing in and out of the web app; who is signed in, re-checked on every page run.

A session holds the user's ``Principal``; every run re-reads the user's roles (a revoked role
or a removed user takes effect at once) and ends the session after ``session_minutes``.
Signing in also stores a sign-in token (``app.auth.keys``, kind ``web``: random, kept hashed
on the server, expiring with the session) in a cookie, so a reload or a new tab of the same
browser stays signed in; signing out revokes it and clears the cookie, and a password change
or an expired session ends it.
"""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

import streamlit as st

from app.auth.principal import Principal
from app.services import Runtime
from app.ui.i18n import language_picker, tr
from verirag.errors import AuthError, SessionRevoked, VeriragError

PRINCIPAL_KEY = "principal"
TOKEN_KEY = "sign-in-token"
COOKIE = "verirag_session"
_NOTICE_KEY = "login-notice"
_COOKIE_WRITE = "cookie-write"  # the cookie value this run must write ("" clears it)


def _resume(rt: Runtime) -> Principal | None:
    """The user this browser's sign-in cookie stands for, or None (and the cookie cleared)."""
    token = st.context.cookies.get(COOKIE)
    if not isinstance(token, str) or not token:  # no browser behind the run (AppTest)
        return None
    try:
        who = rt.keys.principal(token, kind="web")
    except AuthError as exc:
        _forget_cookie(tr("Your password was changed; please sign in again.")
                       if isinstance(exc.__cause__, SessionRevoked) else "")
        return None
    st.session_state[PRINCIPAL_KEY] = who
    st.session_state[TOKEN_KEY] = token
    return who


def _forget_cookie(notice: str = "") -> None:
    st.session_state[_COOKIE_WRITE] = ""
    if notice:
        st.session_state[_NOTICE_KEY] = notice


def write_cookie(max_age_s: int) -> None:
    """Set or clear the sign-in cookie in the browser when this run has one to write.

    Only the browser can set it (Streamlit has no response headers to put it in), so a
    one-line script does, in the page itself: SameSite=Strict, the whole app's path,
    Secure when served over HTTPS, gone when the session would expire anyway.
    """
    value = st.session_state.pop(_COOKIE_WRITE, None)
    if value is None:
        return
    age = max_age_s if value else 0
    st.html("<script>document.cookie = " + json.dumps(f"{COOKIE}={value}") + " + "
            + json.dumps(f"; Path=/; Max-Age={age}; SameSite=Strict")
            + " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
            unsafe_allow_javascript=True, width="content")


def signed_in(rt: Runtime) -> Principal | None:
    """The signed-in user with current rights, or None (expired, removed, or never signed in).

    The sign-in token is checked on every run, not only on a reload: signing out in one tab
    (or an admin revoking it) ends the others at their next click.
    """
    who: Principal | None = st.session_state.get(PRINCIPAL_KEY) or _resume(rt)
    if who is None:
        return None
    token = st.session_state.get(TOKEN_KEY)
    if token:
        try:
            rt.keys.principal(token, kind="web")
        except AuthError:
            sign_out(tr("You were signed out (in another tab, or by an administrator); "
                        "please sign in again."), rt)
            return None
    if who.expired(rt.resources.settings.session_minutes):
        sign_out(tr("Your session expired; please sign in again."), rt)
        return None
    try:
        fresh = rt.users.principal(who.name, signed_in_at=who.signed_in_at)
    except SessionRevoked:
        sign_out(tr("Your password was changed; please sign in again."), rt)
        return None
    except VeriragError:
        sign_out(tr("Your account is no longer active."), rt)
        return None
    st.session_state[PRINCIPAL_KEY] = fresh
    return fresh


def current_user() -> Principal:
    """The signed-in user (the entry script lets no page run without one)."""
    who: Principal = st.session_state[PRINCIPAL_KEY]
    return who


def sign_out(notice: str = "", rt: Runtime | None = None) -> None:
    """Forget everything this browser session held (chat, choices), keeping only a notice;
    revoke its sign-in token (with ``rt``) and clear the cookie."""
    token = st.session_state.get(TOKEN_KEY)
    if rt is not None and token:
        with contextlib.suppress(VeriragError):  # already gone (expired and cleared away)
            rt.keys.revoke(token, actor="logout")
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    _forget_cookie(notice)


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
            who = rt.users.authenticate(name.strip(), password)
        except AuthError as exc:
            st.error(str(exc), icon=":material/lock:")
            return
        minutes = rt.resources.settings.session_minutes
        token, info = rt.keys.create(who.name, actor=who.name, kind="web", label="web sign-in",
                                     expires_in=timedelta(minutes=minutes))
        st.session_state[PRINCIPAL_KEY] = Principal(who.name, who.grants, info.created_at)
        st.session_state[TOKEN_KEY] = st.session_state[_COOKIE_WRITE] = token
        st.rerun()


def account_box(rt: Runtime, who: Principal, pack: str) -> None:
    """Sidebar: who is signed in, their role here, and the way out."""
    role = who.role(pack) or tr("no role")
    st.caption(tr("Signed in as **{name}** · {role}", name=who.name, role=role))
    if st.button(tr("Sign out"), icon=":material/logout:", key="sign-out"):
        rt.audit.record(who.name, "logout")
        sign_out(tr("Signed out."), rt)
        st.rerun()
