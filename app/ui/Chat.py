"""Chat: a conversation with a pack — cited answers, what was understood, and why."""

from __future__ import annotations

import streamlit as st

from app.dialog.manager import TurnResult
from app.ui.state import ensure_ready, runtime
from verirag.errors import VeriragError

st.set_page_config(page_title="verirag", page_icon=":material/menu_book:", layout="wide")


def show_turn(result: TurnResult) -> None:
    answer = result.answer
    if answer.decision == "refuse":
        st.warning(answer.text, icon=":material/block:")
    elif answer.decision == "clarify":
        st.info(answer.text, icon=":material/help:")
    else:
        st.markdown(answer.text.replace("$", "\\$"))
    if answer.removed_sentences:
        st.caption(f"{len(answer.removed_sentences)} sentence(s) removed: no passage supports "
                   "them.")
    for n, p in answer.cited_passages():
        label = f"[{n}] {p.doc_name}" + (f" — {p.location}" if p.location else "")
        with st.expander(label):
            st.caption(f"relevance {p.score:.3f}")
            st.text(p.text)
    if answer.disclaimer:
        st.caption(answer.disclaimer)
    with st.expander("Details: query, state, timings", icon=":material/info:"):
        st.text(f"searched for: {result.rewrite.query}\n{result.rewrite.reason}\n"
                f"slots this turn: {result.slots.describe()}\n"
                f"decision: {answer.decision} · mode: {answer.mode}")
        t = answer.timings
        if t.first_token_s is not None:
            st.caption(f"retrieval {t.retrieval_s * 1000:.0f} ms · first token "
                       f"{t.first_token_s:.2f} s · {t.tokens_per_s or 0:.1f} tokens/s")


rt = runtime()
try:
    ensure_ready(rt)
except VeriragError as exc:
    st.error(str(exc))
    st.stop()

names = rt.pack_names()
with st.sidebar:
    st.title("verirag")
    pack_name = st.selectbox("Domain pack", names,
                             format_func=lambda n: rt.pack(n).title, key="pack")
    pack = rt.pack(pack_name)
    st.caption(pack.description)
    if st.button("New conversation"):
        st.session_state.pop(f"session-{pack_name}", None)
        st.session_state.pop(f"history-{pack_name}", None)

manager = rt.dialog(pack_name)
session_key = f"session-{pack_name}"
if session_key not in st.session_state:
    st.session_state[session_key] = manager.start()
session_id: str = st.session_state[session_key]
history: list[tuple[str, TurnResult]] = st.session_state.setdefault(f"history-{pack_name}", [])

with st.sidebar:
    st.subheader("What verirag understood")
    state = history[-1][1].state if history else None
    if state and state.slots:
        st.table({"slot": list(state.slots), "value": [v.value for v in state.slots.values()],
                  "set by": [f"turn {v.turn} ({v.how})" for v in state.slots.values()]})
    else:
        st.caption("Nothing yet: details you mention (a drug, a company, a contract) appear here.")
    st.caption(f"session {session_id}")

st.header(f"{pack.title} assistant")
for question, past in history:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        show_turn(past)

if question := st.chat_input("Ask about your documents (English or 中文)"):
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        placeholder = st.empty()
        streamed: list[str] = []

        def on_token(piece: str) -> None:
            streamed.append(piece)
            placeholder.markdown("".join(streamed).replace("$", "\\$") + " ▌")

        try:
            with st.spinner("Searching the documents…"):
                result = manager.turn(session_id, question, on_token=on_token)
        except VeriragError as exc:
            placeholder.error(str(exc))
        else:
            placeholder.empty()
            show_turn(result)
            history.append((question, result))
            st.rerun()
