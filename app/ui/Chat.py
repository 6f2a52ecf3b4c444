"""Chat: ask a pack a question and see the cited answer and its sources."""

from __future__ import annotations

import streamlit as st

from app.dialog.types import Answer
from app.ui.state import ensure_ready, runtime
from verirag.errors import VeriragError

st.set_page_config(page_title="verirag", page_icon="📚", layout="wide")


def show_answer(answer: Answer) -> None:
    if answer.decision == "refuse":
        st.warning(answer.text, icon=":material/block:")
    else:
        st.markdown(answer.text.replace("$", "\\$"))
    if answer.removed_sentences:
        st.caption(f"{len(answer.removed_sentences)} sentence(s) removed: no passage supports "
                   "them.")
    for n, p in answer.cited_passages():
        label = f"[{n}] {p.doc_name}" + (f" — {p.location}" if p.location else "")
        with st.expander(label):
            st.text(p.text)
    if answer.disclaimer:
        st.caption(answer.disclaimer)


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
        st.session_state.pop(f"history-{pack_name}", None)

history: list[tuple[str, Answer]] = st.session_state.setdefault(f"history-{pack_name}", [])
st.header(f"{pack.title} assistant")
for question, past in history:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        show_answer(past)

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
                answer = rt.answerer(pack_name).answer(question, on_token=on_token)
        except VeriragError as exc:
            placeholder.error(str(exc))
        else:
            placeholder.empty()
            show_answer(answer)
            history.append((question, answer))
