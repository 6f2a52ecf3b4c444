"""Documents: what a pack's knowledge base holds, and uploading, deleting, re-indexing, search.

The same operations as ``verirag ingest`` and ``verirag kb show/delete/rebuild``, through the
same services. Indexing and re-indexing run as background jobs, so the page (and the chat)
stay usable while a large upload is embedded.
"""

from __future__ import annotations

import streamlit as st

from app import kb_admin
from app.jobs import Job
from app.ui.i18n import language, tr
from app.ui.login import current_user
from app.ui.state import attempt, current_pack, forget_job, job_panel, job_slot, runtime, start_job
from knowledge.ingest import FileResult, IngestReport
from knowledge.loaders import supported_suffixes

ICON = ":material/folder_open:"
ACTION = "upload"

rt = runtime()
who = current_user()
pack_name = current_pack()
pack = rt.resources.pack(pack_name)
title = pack.title_for(language())  # in the reader's language
ok, kb = attempt(lambda: rt.resources.kb(pack_name))
if not ok:
    st.stop()
OUTCOME = {"indexed": tr("indexed"), "replaced": tr("indexed (new version replaces the old)"),
           "duplicate": tr("duplicate (not indexed again)"), "rejected": tr("rejected")}
UPLOAD_JOB = f"ingest-{pack_name}"
REBUILD_JOB = f"rebuild-{pack_name}"
CONFIRM = f"confirm-delete-{pack_name}"
UPLOAD_ROUND = "upload-round"
PICKED_FOR = "upload-picked-for"  # the pack that was selected when the files were picked

st.header(tr("{title} documents", title=title))
stats = kb.stats()
cols = st.columns(4)
for col, (label, key) in zip(cols, [(tr("Documents"), "documents"), (tr("Passages"), "chunks"),
                                    (tr("Vectors"), "vectors"), (tr("Revision"), "revision")],
                             strict=True):
    col.metric(label, stats[key])


# -- upload --------------------------------------------------------------------------------
def show_ingest_result(job: Job) -> None:
    report: IngestReport = job.result
    rejected = report.count("rejected")
    (st.warning if rejected else st.success)(report.summary)
    st.table({tr("file"): [r.name for r in report.results],
              tr("result"): [OUTCOME.get(r.outcome, r.outcome) for r in report.results],
              tr("passages"): [r.chunks for r in report.results],
              tr("reason"): [r.reason for r in report.results]}, hide_index=True)


st.subheader(tr("Upload"))
# One uploader whatever the pack: files picked before the pack is changed stay picked (and
# are said to be going to the new pack) rather than vanishing with another pack's uploader.
upload_key = f"uploads-{st.session_state.get(UPLOAD_ROUND, 0)}"
files = st.file_uploader(
    tr("Files to index"), accept_multiple_files=True, key=upload_key,
    type=[s.lstrip(".") for s in supported_suffixes()],
    max_upload_size=max(1, round(rt.resources.settings.max_upload_mb)),  # VERIRAG_MAX_UPLOAD_MB
    help=tr("PDF, DOCX, HTML, Markdown, TXT, CSV, XLSX; Chinese and English. Identical content "
            "is indexed once; a file with the same name replaces the older version."))
tags_text = st.text_input(tr("Tags (optional, comma-separated)"), key=f"tags-{pack_name}",
                          placeholder=tr("e.g. policy, 2024"))
labels_text = st.text_input(
    tr("Access labels (optional, comma-separated)"), key=f"labels-{pack_name}",
    placeholder=tr("e.g. restricted"),
    help=tr("Only users cleared for every label of a document can retrieve or see it."))
picked_for = st.session_state.setdefault(PICKED_FOR, pack_name) if files else None
if not files:
    st.session_state.pop(PICKED_FOR, None)
elif picked_for != pack_name:
    st.warning(tr("These files were chosen while {old} was selected. They will be indexed "
                  "into {new}; remove them, or switch back, if that is not what you want.",
                  old=rt.resources.pack(picked_for).title_for(language()), new=title),
               icon=":material/swap_horiz:")
busy = bool((j := job_slot(UPLOAD_JOB)) and j.running)
if st.button(tr("Index {n} file(s) into {title}", n=len(files or []), title=title),
             type="primary",
             icon=":material/upload:",
             disabled=not files or busy, key="index-files"):
    payload = [(f.name, f.getvalue()) for f in files or []]
    tags = [t.strip() for t in tags_text.split(",") if t.strip()]
    labels = [t.strip() for t in labels_text.split(",") if t.strip()]

    reading = tr("reading")  # the job thread has no session to ask

    def ingest(job: Job) -> IngestReport:
        job.update(0, len(payload), reading)

        def on_file(i: int, n: int, result: FileResult) -> None:
            job.update(i, n, result.name)

        return kb_admin.ingest_uploads(rt, pack_name, payload, actor=who.name, tags=tags,
                                       labels=labels, on_file=on_file, principal=who)

    start_job(UPLOAD_JOB, "ingest", tr("Indexing {n} file(s)", n=len(payload)), ingest)
    st.session_state[UPLOAD_ROUND] = st.session_state.get(UPLOAD_ROUND, 0) + 1
    st.session_state.pop(PICKED_FOR, None)
    st.rerun()
job_panel(UPLOAD_JOB, show_ingest_result)

# -- the documents -------------------------------------------------------------------------
st.subheader(tr("In the knowledge base"))
docs, hidden = kb_admin.visible_documents(rt, pack_name, who)
if hidden:
    st.caption(tr("{n} more document(s) carry access labels you are not cleared for.",
                  n=hidden))
if not docs and not hidden:
    st.info(tr("No documents yet: upload some above (or run `verirag setup` for the samples)."),
            icon=":material/info:")
elif docs:
    st.dataframe(
        {"id": [d.id for d in docs], tr("name"): [d.name for d in docs],
         tr("status"): [d.status for d in docs],
         tr("size (KB)"): [round(d.size / 1024, 1) for d in docs],
         tr("passages"): [d.chunk_count for d in docs],
         tr("tags"): [", ".join(d.tags or []) for d in docs],
         tr("labels"): [", ".join(d.labels or []) for d in docs],
         tr("uploaded"): [d.uploaded_at.strftime("%Y-%m-%d %H:%M") for d in docs],
         tr("error"): [d.error or "" for d in docs]},
        hide_index=True, width="stretch")

left, right = st.columns(2, border=True)
with left:
    by_id = {d.id: d for d in docs}
    if deleted := st.session_state.pop(f"deleted-{pack_name}", None):
        st.session_state[f"delete-{pack_name}"] = None  # clear the choice once done
        st.success(tr("Deleted {name}: its passages and vectors are gone.", name=deleted),
                   icon=":material/delete:")
    doc_id = st.selectbox(tr("Delete a document"), list(by_id), index=None,
                          format_func=lambda i: f"{by_id[i].name} (id {i})" if i in by_id
                          else f"id {i}",
                          placeholder=tr("choose a document"), key=f"delete-{pack_name}")
    if st.button(tr("Delete…"), icon=":material/delete:", disabled=doc_id is None,
                 key="delete-doc"):
        st.session_state[CONFIRM] = doc_id
    pending = st.session_state.get(CONFIRM)
    if pending is not None and pending in by_id:
        d = by_id[pending]
        st.warning(tr("Delete **{name}**, its {n} passages and their vectors? Answers will "
                      "no longer cite it.", name=d.name, n=d.chunk_count),
                   icon=":material/warning:")
        yes, no = st.columns(2)
        if yes.button(tr("Yes, delete"), type="primary", key="confirm-delete"):
            st.session_state.pop(CONFIRM, None)
            ok, name = attempt(lambda: kb_admin.delete_document(rt, pack_name, pending,
                                                                actor=who.name, principal=who))
            if ok:
                st.session_state[f"deleted-{pack_name}"] = name
                st.rerun()
        if no.button(tr("Cancel"), key="cancel-delete"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()
with right:
    st.markdown(f"**{tr('Re-index')}**")
    st.caption(tr("Re-embed every passage from the database into fresh indexes (after "
                  "changing the embedder, or if search looks wrong)."))
    rebuilding = bool((j := job_slot(REBUILD_JOB)) and j.running)
    if st.button(tr("Re-index knowledge base"), icon=":material/refresh:", disabled=rebuilding,
                 key="reindex"):
        embedding = tr("embedding passages")  # the job thread has no session to ask

        def rebuild(job: Job) -> int:
            return kb_admin.rebuild(rt, pack_name, actor=who.name,
                                    progress=lambda i, n: job.update(i, n, embedding))

        forget_job(REBUILD_JOB)
        start_job(REBUILD_JOB, "rebuild", tr("Re-indexing {title}", title=title), rebuild)
        st.rerun()
    job_panel(REBUILD_JOB, lambda job: st.success(tr("Re-indexed: {n} passages.",
                                                     n=job.result)))

# -- search --------------------------------------------------------------------------------
st.subheader(tr("Search the knowledge base"))
q_col, k_col = st.columns([5, 1], vertical_alignment="bottom")
query = q_col.text_input(tr("Query"), key=f"search-{pack_name}",
                         placeholder=tr("words or a question, English or 中文"))
k = k_col.number_input(tr("Top"), min_value=1, max_value=20, value=5, key=f"k-{pack_name}")
if query.strip():
    ok, found = attempt(lambda: kb_admin.search(rt, pack_name, query.strip(), int(k), who))
    if ok and not found.passages:
        st.info(tr("No passage matches."), icon=":material/search_off:")
    for rank, p in enumerate(found.passages if ok else [], 1):
        cosine = found.dense.get(p.chunk_id)
        label = (f"{rank}. {p.doc_name}" + (f" — {p.location}" if p.location else "")
                 + " · " + tr("score {score}", score=f"{p.score:.3f}"))
        with st.expander(label, expanded=rank == 1):
            st.caption(tr("fused score {score} · cosine {cosine} · query terms covered "
                          "{covered}", score=f"{p.score:.3f}",
                          cosine=f"{cosine:.3f}" if cosine is not None else "—",
                          covered=f"{found.lexical.get(p.chunk_id, 0.0):.0%}"))
            st.text(p.text)
