"""Audit: who asked what, who uploaded, deleted, relabelled, signed in — searchable, exportable.

Admins only (``ACTION = "audit"``). Reads ``app.audit.AuditLog`` like ``verirag audit
export``; the log itself is never edited from here.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time

import streamlit as st

from app.audit import write_entries
from app.ui.state import attempt, current_pack, runtime

ICON = ":material/policy:"
ACTION = "audit"
SHOWN = 500

rt = runtime()
pack_name = current_pack()
st.header("Audit log")
st.caption("Every answer (question, retrieved passages, answer, model, adapter), upload, "
           "delete, relabel, re-index, role change and sign-in. Nothing here can be edited.")

c1, c2, c3, c4 = st.columns(4)
this_pack = c1.toggle("This pack only", value=False, key="audit-pack")
actor = c2.text_input("User", key="audit-actor").strip() or None
action = c3.selectbox("Action", ["(any)", "answer", "upload", "delete", "label", "reindex",
                                 "feedback", "login", "login_failed", "login_throttled",
                                 "logout", "role_grant", "role_revoke", "user_add",
                                 "user_remove"], key="audit-action")
since_day = c4.date_input("Since", value=None, key="audit-since")
text = st.text_input("Contains", key="audit-text", placeholder="words from a question, a "
                     "document name, a chunk id…").strip() or None

since = datetime.combine(since_day, time.min, tzinfo=UTC) if since_day else None
ok, entries = attempt(lambda: rt.audit.search(
    since=since, actor=actor, action=None if action == "(any)" else action,
    pack=pack_name if this_pack else None, text=text))
if ok:
    st.caption(f"{len(entries)} record(s)" + (f"; the newest {SHOWN} shown" if len(entries)
                                                > SHOWN else ""))
    newest = list(reversed(entries))[:SHOWN]
    st.dataframe({"time (UTC)": [e.at.strftime("%Y-%m-%d %H:%M:%S") for e in newest],
                  "user": [e.actor for e in newest], "action": [e.action for e in newest],
                  "pack": [e.pack for e in newest],
                  "detail": [json.dumps(e.detail, ensure_ascii=False)[:300] for e in newest]},
                 hide_index=True, width="stretch")
    for fmt, mime in (("jsonl", "application/jsonl"), ("csv", "text/csv")):
        buf = io.StringIO()
        write_entries(entries, fmt, buf)
        st.download_button(f"Download {len(entries)} as {fmt.upper()}", buf.getvalue(),
                           file_name=f"verirag-audit.{fmt}", mime=mime, key=f"audit-{fmt}")
