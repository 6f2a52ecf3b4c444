"""Evaluation: run ``verirag eval`` on a bundled or uploaded dataset, and read past reports.

A run is a background job (minutes on a CPU), so the page stays usable and the run survives
switching pages; its report lands in the same folder as the CLI's, and the Reports tab lists
both.
"""

from __future__ import annotations

import streamlit as st

from app.evaluation import (
    DatasetChoice,
    bundled_datasets,
    list_reports,
    load_report,
    run_evaluation,
    save_upload,
)
from app.jobs import Job
from app.ui.state import attempt, current_pack, job_panel, job_slot, runtime, start_job

ICON = ":material/monitoring:"
ACTION = "evaluate"
PRESETS = ["pack", "dense", "bm25", "hybrid", "generate", "extractive", "no-retrieval", "base",
           "no-rewrite"]
RUN_JOB = "eval"
CHOSEN_REPORT = "eval-report"

rt = runtime()
pack_name = current_pack()
pack = rt.pack(pack_name)

st.header("Evaluation")
run_tab, reports_tab = st.tabs(["Run an evaluation", "Reports"])


def show_run_result(job: Job) -> None:
    st.success(f"Report written to {job.result}. Open it in the Reports tab.",
               icon=":material/check_circle:")


with run_tab:
    st.caption(f"Scores the **{pack.title}** pack's settings (change the pack in the sidebar): "
               "retrieval recall, answer quality, citations, refusals and speed.")
    source = st.radio("Dataset", ["Bundled", "Upload"], horizontal=True, key="eval-source")
    choice: DatasetChoice | str | None = None
    if source == "Bundled":
        bundled = {d.domain: d for d in bundled_datasets(rt)}
        if pack_name in bundled:
            choice = bundled[pack_name]
            st.markdown(f"**{choice.label}**, answered from the pack's sample documents.")
        else:
            st.info(f"The {pack.title} pack has no eval/questions.jsonl; upload a dataset.")
    else:
        st.caption("`questions.jsonl` with `corpus.jsonl` (the evaluation format), or pack-style "
                   "questions alone, answered from the pack's documents.")
        q_file = st.file_uploader("questions.jsonl", type=["jsonl"], key="eval-questions")
        c_file = st.file_uploader("corpus.jsonl (optional)", type=["jsonl"], key="eval-corpus")
        if q_file is not None:
            ok, folder = attempt(lambda: save_upload(
                rt, q_file.getvalue(), c_file.getvalue() if c_file else None,
                c_file.name if c_file else q_file.name, pack_name))
            choice = str(folder) if ok else None
    a, b, c = st.columns(3)
    k = a.number_input("Headline recall@k", min_value=1, max_value=100, value=5, key="eval-k")
    limit = b.number_input("Sample of N questions (0 = all)", min_value=0, value=0,
                           key="eval-limit")
    retrieval_only = c.checkbox("Retrieval only (fast: no answers)", key="eval-retrieval-only")
    compare = st.multiselect("Configurations side by side (empty = the pack as configured)",
                             PRESETS, key="eval-compare",
                             help="The same questions under each setting, one column each.")
    running = bool((j := job_slot(RUN_JOB)) and j.running)
    if st.button("Run evaluation", type="primary", icon=":material/play_arrow:",
                 disabled=choice is None or running, key="run-eval"):
        spec = choice.spec if isinstance(choice, DatasetChoice) else str(choice)
        compare_arg = ",".join(compare) or None
        n = int(limit) or None

        def work(job: Job) -> str:
            return str(run_evaluation(rt, pack_name, spec, k=int(k), limit=n,
                                      retrieval_only=retrieval_only, compare=compare_arg,
                                      progress=job.update))

        start_job(RUN_JOB, "eval", f"Evaluating {pack.title}", work)
        st.rerun()
    job_panel(RUN_JOB, show_run_result)

with reports_tab:
    reports = list_reports(rt)
    if not reports:
        st.info("No reports yet: run an evaluation here or with `verirag eval`.",
                icon=":material/info:")
    else:
        by_path = {str(r.path): r for r in reports}
        chosen = st.selectbox("Report", list(by_path), key=CHOSEN_REPORT,
                              format_func=lambda p: by_path[p].label)
        ok, view = attempt(lambda: load_report(by_path[chosen].path))
        if ok:
            meta = view.meta
            corpus = meta.get("corpus", {})
            st.caption(f"{meta.get('questions')} questions · corpus {corpus.get('documents')} "
                       f"documents / {corpus.get('chunks')} passages · embedder "
                       f"`{meta.get('embedder')}` · folder `{view.info.path}`")
            st.subheader("Comparison")
            st.dataframe(view.table, hide_index=True, width="stretch")
            for cfg in meta.get("configs", []):
                st.caption(f"**{cfg.get('label')}**: {cfg.get('description')}")
            if view.plots:
                st.subheader("Plots")
                cols = st.columns(2)
                for i, plot in enumerate(view.plots):
                    cols[i % 2].image(str(plot), caption=plot.stem.replace("_", " "))
            if view.markdown:
                st.download_button("Download summary.md", view.markdown,
                                   file_name="summary.md", icon=":material/download:")
