"""Chat: a conversation with a pack — cited answers, what was understood, and why.

The conversation is stored as it goes (``SessionStore``), so the page keeps only the session
id and the turns drawn so far; "Resume" reads a past conversation back from the database.
The model is loaded on the first question, not on opening the page.
"""

from __future__ import annotations

import streamlit as st

from app.conversations import TurnView, from_result, load_turns, session_choices, slot_views
from app.sources import open_source
from app.ui.chat_view import escape_md, show_state_panel, show_turn
from app.ui.i18n import language, tr
from app.ui.login import current_user
from app.ui.state import attempt, current_pack, ensure_ready, runtime

ICON = ":material/chat:"
ACTION = "chat"

rt = runtime()
who = current_user()
if not attempt(lambda: ensure_ready(rt))[0]:
    st.stop()
pack_name = current_pack()
pack = rt.resources.pack(pack_name)
title = pack.title_for(language())  # in the reader's language
SESSION = f"session-{pack_name}"
TURNS = f"turns-{pack_name}"
RESUME = f"resume-{pack_name}"


def new_conversation() -> None:
    st.session_state.pop(SESSION, None)
    st.session_state.pop(TURNS, None)
    st.session_state.pop(RESUME, None)


def resume() -> None:
    """Load the chosen past conversation: its turns with their sources, and its state."""
    chosen = st.session_state.get(RESUME)
    if not chosen:
        return
    if rt.sessions.owner(chosen) != who.name:  # ids are unguessable, but never trust them
        st.error(tr("That conversation is not yours."), icon=":material/lock:")
        return
    ok, turns = attempt(lambda: load_turns(rt.sessions, rt.engine, chosen, pack, who))
    if ok:
        st.session_state[SESSION] = chosen
        st.session_state[TURNS] = turns


turns: list[TurnView] = st.session_state.setdefault(TURNS, [])
session_id: str | None = st.session_state.get(SESSION)

with st.sidebar:
    st.button(tr("New conversation"), icon=":material/add_comment:", on_click=new_conversation,
              width="stretch", key="new-conversation")
    choices = {c.id: c.label for c in session_choices(rt.sessions, pack_name, who.name)}
    st.selectbox(tr("Resume a past conversation"), list(choices), index=None, key=RESUME,
                 format_func=lambda sid: choices.get(sid, sid), on_change=resume,
                 placeholder=tr("{n} stored", n=len(choices)) if choices else tr("none yet"))
    ok, state = attempt(lambda: rt.sessions.load(session_id)) if session_id else (True, None)
    searched = next((t for t in reversed(turns) if t.decision != "social"), None)
    show_state_panel(slot_views(state, pack) if state else [], searched)
    if session_id:
        st.caption(tr("session {id}", id=session_id))

st.header(tr("{title} assistant", title=title))
if pack.disclaimer:
    st.caption(f":material/gavel: {escape_md(pack.disclaimer_for(language()))}")
if not turns:
    st.caption(tr("Answers come only from this pack's documents; every sentence cites its "
                  "source [n]. Ask in English or 中文."))
for view in turns:
    show_turn(rt, view, lambda chunk_id: open_source(rt, pack_name, chunk_id, who))

if question := st.chat_input(tr("Ask about your documents (English or 中文)")):
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        placeholder = st.empty()
        streamed: list[str] = []

        def on_token(piece: str) -> None:
            # checked sentences only: the model's draft never reaches the page while streaming
            streamed.append(piece)
            placeholder.markdown(escape_md("".join(streamed)) + " ▌")

        def ask() -> TurnView:
            manager = rt.dialog(pack_name, principal=who)
            sid = st.session_state.get(SESSION) or manager.start()
            st.session_state[SESSION] = sid
            return from_result(manager.turn(sid, question, on_token=on_token))

        # Where the answer will appear, so the first checked sentence replaces it and nothing
        # is left spinning under a finished answer.
        placeholder.caption(":material/hourglass_top: " + (
            tr("Searching the documents…") if turns or pack.generation.mode != "generate"
            else tr("Loading the model and searching the documents…")))
        ok, view = attempt(ask, placeholder)
        if ok:
            turns.append(view)
            st.rerun()
