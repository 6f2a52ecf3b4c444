"""Chat: a conversation with a pack — cited answers, what was understood, and why.

The conversation is stored as it goes (``SessionStore``), so the page keeps only the session
id and the turns drawn so far; "Resume" reads a past conversation back from the database.
The model is loaded on the first question, not on opening the page.
"""

from __future__ import annotations

import streamlit as st

from app.conversations import (
    TurnView,
    delete_conversation,
    from_result,
    load_turns,
    rename_conversation,
    session_choices,
    slot_views,
)
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
CONFIRM_DELETE = "pending-conversation-delete"
ANSWERING = f"answering-{pack_name}"  # the question being answered while the run lasts
ASK_AGAIN = f"ask-again-{pack_name}"


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


def manage_conversation(sid: str) -> None:
    """Rename or delete the open conversation (one's own: checked by the service)."""
    with st.expander(tr("This conversation"), icon=":material/edit_note:"):
        title = st.text_input(tr("Title"), key=f"title-{sid}",
                              value=next((c.title for c in session_choices(
                                  rt.sessions, pack_name, who.name) if c.id == sid), ""))
        if st.button(tr("Rename"), key="rename-conversation") and attempt(
                lambda: rename_conversation(rt.sessions, rt.audit, sid, title, who))[0]:
            st.toast(tr("Renamed."))
        if st.button(tr("Delete this conversation…"), key="delete-conversation",
                     icon=":material/delete:"):
            st.session_state[CONFIRM_DELETE] = sid
        if st.session_state.get(CONFIRM_DELETE) == sid:
            st.warning(tr("Delete it and its answers from your list? The audit log keeps what "
                          "was asked and answered."), icon=":material/warning:")
            if st.button(tr("Yes, delete"), type="primary", key="confirm-delete-conversation"):
                st.session_state.pop(CONFIRM_DELETE, None)
                if attempt(lambda: delete_conversation(rt.sessions, rt.audit, sid, who))[0]:
                    new_conversation()
                    st.rerun()


turns: list[TurnView] = st.session_state.setdefault(TURNS, [])
session_id: str | None = st.session_state.get(SESSION)

with st.sidebar:
    st.button(tr("New conversation"), icon=":material/add_comment:", on_click=new_conversation,
              width="stretch", key="new-conversation")
    search = st.text_input(tr("Search your conversations"), key=f"search-{pack_name}",
                           placeholder=tr("a word from a title or a question"))
    choices = {c.id: c.label for c in session_choices(rt.sessions, pack_name, who.name,
                                                      search=search)}
    st.selectbox(tr("Resume a past conversation"), list(choices), index=None, key=RESUME,
                 format_func=lambda sid: choices.get(sid, sid), on_change=resume,
                 placeholder=(tr("{n} found", n=len(choices)) if search.strip()
                              else tr("{n} stored", n=len(choices))) if choices
                 else tr("none found") if search.strip() else tr("none yet"))
    if session_id and turns:
        manage_conversation(session_id)
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
for i, view in enumerate(turns):
    show_turn(rt, view, lambda chunk_id: open_source(rt, pack_name, chunk_id, who),
              ask_again=ASK_AGAIN if i == len(turns) - 1 else None)
if stopped := st.session_state.pop(ANSWERING, None):
    # The last run ended while answering: the reader stopped it (or left). Nothing of the
    # unfinished answer was recorded.
    st.info(tr("Stopped before the answer to “{question}” was finished; nothing of it was "
               "recorded.", question=stopped), icon=":material/stop_circle:")

typed = st.chat_input(tr("Ask about your documents (English or 中文)"))
if question := typed or st.session_state.pop(ASK_AGAIN, None):
    st.session_state[ANSWERING] = question
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        # Any click reruns the page, which stops this run and with it the generation.
        st.button(tr("Stop"), icon=":material/stop_circle:", key="stop-answer")
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
        st.session_state.pop(ANSWERING, None)
        if ok:
            turns.append(view)
            st.rerun()
