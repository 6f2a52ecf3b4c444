"""How one chat turn is drawn: the answer as what it is, its sources, details, and feedback.

Only drawing lives here; the turn itself is an ``app.conversations.TurnView`` made by the
services, the same for a turn answered now and one resumed from the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from app.conversations import GONE, WITHHELD, SlotView, TurnView
from app.services import Runtime
from app.sources import SourceView
from app.ui.i18n import language, tr
from app.ui.state import attempt
from verirag.errors import VeriragError

_TO_WIDGET = {1: 1, -1: 0}  # stored verdict -> st.feedback("thumbs") index (0 = down, 1 = up)
_FROM_WIDGET = {1: 1, 0: -1}


_MD_ACTIVE = re.compile(r"([\\$`<>])")
# "[text](url)", "![alt](src)", "[text][ref]"; not "[1][2]", two citation markers.
_LINK_TARGET = re.compile(r"\](?=\s*\(|\[(?!\d{1,3}\]))")
_LINK_DEFINITION = re.compile(r"^(\s*)\[(?=[^\]\n]+\]:)", re.MULTILINE)  # "[ref]: url"
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)", re.IGNORECASE)


def escape_md(text: str) -> str:
    """Document text shown through Markdown, with nothing live in it.

    "$5" must not start a formula, and a link or an image written in a document must not
    become one in the answer or its sources (the browser would fetch the image, the reader
    could follow the link): the bracket that would join a link text to its target is escaped,
    as are link definitions, angle brackets and backticks, and a zero-width space breaks bare
    URLs so they stay text. Citation markers ``[n]``, tables and emphasis still render.
    """
    text = _MD_ACTIVE.sub(r"\\\1", text)
    text = _LINK_DEFINITION.sub(r"\1\\[", _LINK_TARGET.sub(r"\\]", text))
    return _AUTOLINK.sub("&#8203;", text)


def show_answer(view: TurnView) -> None:
    if view.decision == "refuse":
        st.warning(view.answer, icon=":material/block:")
    elif view.decision == "clarify":
        st.info(view.answer, icon=":material/help:")
    else:
        st.markdown(escape_md(view.answer))


SourceOpener = Callable[[int], SourceView]


def show_source(view: TurnView, n: int, chunk_id: int, opener: SourceOpener) -> None:
    """The cited page (PDF) or the passage in its place in the document, on demand."""
    if not st.toggle(tr("Show it in the document"), key=f"src-{view.turn_id}-{n}"):
        return
    ok, source = attempt(lambda: opener(chunk_id))
    if not ok:
        return
    if source.page is not None:
        st.image(source.page.png, width="stretch", caption=tr(
            "{name}, page {page} of {pages} — the cited passage highlighted",
            name=source.doc_name, page=source.page.page, pages=source.page.pages))
    for text, cited in source.context:
        with st.container(border=cited):
            st.markdown(("**" + tr("Cited:") + "** " if cited else "") + escape_md(text))
    if source.note:
        st.caption(source.note)
    if source.original is not None:
        st.download_button(tr("Download the original file"), source.original.read_bytes(),
                           file_name=source.doc_name, icon=":material/download:",
                           key=f"dl-{view.turn_id}-{n}")


def show_citations(view: TurnView, opener: SourceOpener | None = None) -> None:
    """Each [n] of the answer as an expander: document, page/heading, score, passage text."""
    for c in view.citations:
        label = f"[{c.n}] " + escape_md(c.doc_name + (f" — {c.location}" if c.location else ""))
        with st.expander(label, icon=":material/format_quote:"):
            st.caption(tr("document **{name}**", name=escape_md(c.doc_name))
                       + (f" · {escape_md(c.location)}" if c.location else "")
                       + " · " + tr("retrieval score {score}", score=f"{c.score:.3f}"))
            with st.container(border=True, key=f"passage-{view.turn_id}-{c.n}"):
                st.markdown(escape_md(c.text))  # tables as tables, nothing live
            for sentence, evidence in c.supports:
                st.caption(tr("Checked: “{sentence}” — supported by: “{evidence}”",
                              sentence=escape_md(sentence), evidence=escape_md(evidence)))
            if opener is not None and c.chunk_id and c.text not in (GONE, WITHHELD):
                show_source(view, c.n, c.chunk_id, opener)


def show_details(view: TurnView) -> None:
    with st.expander(tr("How this answer was made"), icon=":material/info:"):
        lines = [tr("searched for: {query}", query=view.query)]
        if view.rewrite_reason:
            lines.append(tr("why: {reason}", reason=view.rewrite_reason))
        if view.slots_changed:
            lines.append(tr("slots this turn: {slots}", slots=view.slots_changed))
        lines.append(tr("decision: {decision} · mode: {mode}", decision=view.decision,
                        mode=view.mode))
        st.text("\n".join(lines))
        if view.removed:
            st.caption(tr("{n} sentence(s) of the draft removed by the check, because no "
                          "passage supports them (reason: sentence):", n=len(view.removed)))
            st.text("\n".join(view.removed))
        if view.draft:
            st.caption(tr("The model's unchecked draft — not part of the answer:"))
            st.text(view.draft.strip())
        if view.timings:
            st.caption(view.timings)


def _save_feedback(rt: Runtime, turn_id: int) -> None:
    """Store the thumbs and the comment together: the comment explains the verdict."""
    thumbs = st.session_state.get(f"fb-{turn_id}")
    comment = st.session_state.get(f"fbc-{turn_id}", "")
    try:
        rt.sessions.feedback(turn_id, _FROM_WIDGET.get(thumbs, 0) if thumbs is not None else 0,
                             comment)
    except VeriragError as exc:
        st.session_state[f"fberr-{turn_id}"] = str(exc)
    else:
        st.session_state[f"fbok-{turn_id}"] = True


def show_feedback(rt: Runtime, view: TurnView) -> None:
    """Thumbs up/down and an optional comment, stored with the turn as soon as given."""
    key = f"fb-{view.turn_id}"
    if key not in st.session_state and view.feedback in _TO_WIDGET:
        st.session_state[key] = _TO_WIDGET[view.feedback]
    if f"fbc-{view.turn_id}" not in st.session_state and view.feedback_comment:
        st.session_state[f"fbc-{view.turn_id}"] = view.feedback_comment
    left, right = st.columns([1, 9], vertical_alignment="center")
    with left:
        st.feedback("thumbs", key=key, on_change=_save_feedback, args=(rt, view.turn_id))
    with right:
        st.text_input(tr("Comment (optional)"), key=f"fbc-{view.turn_id}",
                      placeholder=tr("What was wrong or missing? (optional, saved with the "
                                     "turn)"),
                      label_visibility="collapsed", on_change=_save_feedback,
                      args=(rt, view.turn_id))
    if error := st.session_state.pop(f"fberr-{view.turn_id}", None):
        st.error(error, icon=":material/error:")
    elif st.session_state.pop(f"fbok-{view.turn_id}", False):
        st.caption(tr("Feedback saved with this answer — thank you."))


def copy_text(view: TurnView) -> str:
    """The answer and its sources as plain text, to paste into a note or an e-mail."""
    sources = [f"[{c.n}] {c.doc_name}" + (f", {c.location}" if c.location else "")
               for c in view.citations]
    return view.answer + ("\n\n" + "\n".join(sources) if sources else "")


def show_actions(view: TurnView, ask_again: str | None) -> None:
    """Copy (answer and sources) and, on the last answer, ask the same question again."""
    left, right, _ = st.columns([1, 1, 4])
    with left.popover(tr("Copy"), icon=":material/content_copy:"):
        st.code(copy_text(view), language=None, wrap_lines=True)  # its own copy button
    if ask_again and right.button(tr("Ask again"), icon=":material/refresh:",
                                  key=f"again-{view.turn_id}"):
        st.session_state[ask_again] = view.question
        st.rerun()


def show_turn(rt: Runtime, view: TurnView, opener: SourceOpener | None = None,
              ask_again: str | None = None) -> None:
    with st.chat_message("user"):
        st.text(view.question)
    with st.chat_message("assistant"):
        show_answer(view)
        show_citations(view, opener)  # the disclaimer is said once, under the page's title
        if view.decision != "social":  # a "you're welcome" was not searched or judged
            show_actions(view, ask_again)
            show_details(view)
            show_feedback(rt, view)


def _set_by(slot: SlotView) -> str:
    how = {"rule": tr("pack rule"), "model": tr("model, from your words"), "user": tr("you")}
    return tr("turn {n} · {how}", n=slot.turn, how=how.get(slot.how, slot.how))


def show_state_panel(slots: list[SlotView], last: TurnView | None) -> None:
    """The sidebar: what the conversation remembers, who set it, and the last search query."""
    st.subheader(tr("What verirag understood"))
    if slots:
        zh = language() == "zh"
        st.table({tr("slot"): [s.description_zh if zh else s.description for s in slots],
                  tr("value"): [s.value for s in slots],
                  tr("set by"): [_set_by(s) for s in slots]}, hide_index=True)
    else:
        st.caption(tr("Nothing yet: details you mention (a drug, a company, a contract) appear "
                      "here, with the turn that set them."))
    if last is not None:
        st.markdown(f"**{tr('Last search query')}**")
        st.markdown(f"> {escape_md(last.query)}")
        if last.rewrite_reason:
            st.caption(last.rewrite_reason)
