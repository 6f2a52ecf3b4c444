"""Audit: who asked what, who uploaded, deleted, relabelled, signed in — searchable, exportable.

Admins only (``ACTION = "audit"``). Reads ``app.audit.AuditLog`` like ``verirag audit
export``; the log itself is never edited from here.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

import streamlit as st

from app.audit import AuditEntry, write_entries
from app.audit_view import ACTIONS, describe
from app.ui.i18n import tr
from app.ui.login import current_user
from app.ui.state import attempt, current_pack, runtime

ICON = ":material/policy:"
ACTION = "audit"
SHOWN = 500

rt = runtime()
pack_name = current_pack()


def show_entry(entry: AuditEntry) -> None:
    """One row whole: in words, then (for an answer) what was asked, said and cited."""
    with st.container(border=True, key="audit-entry"):
        st.markdown(f"**{entry.at:%Y-%m-%d %H:%M:%S} UTC · {entry.actor} · {entry.action}"
                    + (f" · {entry.pack}" if entry.pack else "") + "**")
        st.text(describe(entry))
        d = entry.detail
        if entry.action == "answer":
            st.markdown(f"**{tr('Question')}**")
            st.text(str(d.get("question", "")))
            st.markdown(f"**{tr('Answer')}**")
            st.text(str(d.get("answer", "")))
            cited = [int(c) for c in d.get("cited") or []]
            if cited and entry.pack:
                found = {p.chunk_id: p for p, _ in
                         rt.resources.kb(entry.pack).repo.ready_passages(cited)}
                st.markdown(f"**{tr('Cited passages')}**")
                for chunk_id in cited:
                    p = found.get(chunk_id)
                    st.text(f"#{chunk_id} " + (f"{p.doc_name} — {p.location}: {p.text[:400]}"
                                               if p else tr("(no longer in the knowledge "
                                                            "base)")))
            st.caption(tr("model {model} · adapter {adapter}", model=d.get("model"),
                          adapter=d.get("adapter") or tr("none")))
        with st.expander(tr("The record as stored")):
            st.json(entry.to_json())
st.header(tr("Audit log"))
st.caption(tr("Every answer (question, retrieved passages, answer, model, adapter), upload, "
              "delete, relabel, re-index, role change and sign-in. Nothing here can be edited."))

c1, c2, c3, c4 = st.columns(4)
any_action = tr("(any)")
this_pack = c1.toggle(tr("This pack only"), value=False, key="audit-pack")
actor = c2.text_input(tr("User"), key="audit-actor").strip() or None
action = c3.selectbox(tr("Action"), ["(any)", *ACTIONS], key="audit-action",
                      format_func=lambda a: any_action if a == "(any)" else a)
since_day = c4.date_input(tr("Since"), value=None, key="audit-since")
text = st.text_input(tr("Contains"), key="audit-text",
                     placeholder=tr("words from a question, a document name, a chunk id…"),
                     ).strip() or None

since = datetime.combine(since_day, time.min, tzinfo=UTC) if since_day else None
ok, entries = attempt(lambda: rt.audit.search_for(
    current_user(), rt.resources.pack_names(), since=since, actor=actor,
    action=None if action == "(any)" else action, pack=pack_name if this_pack else None, text=text))
if ok:
    st.caption(tr("{n} record(s)", n=len(entries))
               + (tr("; the newest {n} shown", n=SHOWN) if len(entries) > SHOWN else ""))
    newest = list(reversed(entries))[:SHOWN]
    table = st.dataframe(
        {tr("time (UTC)"): [e.at.strftime("%Y-%m-%d %H:%M:%S") for e in newest],
         tr("user"): [e.actor for e in newest],
         tr("action"): [e.action for e in newest],
         tr("pack"): [e.pack for e in newest],
         tr("what happened"): [describe(e) for e in newest]},
        hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="audit-table",
        column_config={tr("what happened"): st.column_config.TextColumn(width="large")})
    picked = table.selection.rows if table is not None else []
    if picked:
        show_entry(newest[picked[0]])
    else:
        st.caption(tr("Select a row to read it whole: for an answer, the question, the "
                      "answer and the passages it cited."))
    for fmt, mime in (("jsonl", "application/jsonl"), ("csv", "text/csv")):
        buf = io.StringIO()
        write_entries(entries, fmt, buf)
        st.download_button(tr("Download {n} as {format}", n=len(entries), format=fmt.upper()),
                           buf.getvalue(),
                           file_name=f"verirag-audit.{fmt}", mime=mime, key=f"audit-{fmt}")
