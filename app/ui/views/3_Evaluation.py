"""Evaluation: run ``verirag eval`` on a bundled or uploaded dataset, and read past reports.

A run is a background job (minutes on a CPU), so the page stays usable and the run survives
switching pages; its report lands in the same folder as the CLI's, and the Reports tab lists
both.
"""

from __future__ import annotations

import streamlit as st

from app.jobs import Job
from app.ui.i18n import language, tr
from app.ui.state import attempt, current_pack, job_panel, job_slot, runtime, start_job
from evals.service import (
    DatasetChoice,
    bundled_datasets,
    list_reports,
    load_report,
    run_evaluation,
    save_upload,
)
from evals.verdicts import Outcomes, outcomes

ICON = ":material/monitoring:"
ACTION = "evaluate"
PRESETS = ["pack", "dense", "bm25", "hybrid", "generate", "extractive", "no-retrieval", "plain",
           "base", "no-rewrite"]
RUN_JOB = "eval"
CHOSEN_REPORT = "eval-report"

rt = runtime()
res = rt.resources
pack_name = current_pack()
pack = rt.resources.pack(pack_name)
title = pack.title_for(language())  # in the reader's language

st.header(tr("Evaluation"))
run_tab, reports_tab = st.tabs([tr("Run an evaluation"), tr("Reports")])


def show_run_result(job: Job) -> None:
    st.success(tr("Done. Open the report in the Reports tab."),
               icon=":material/check_circle:")


KIND_WORDS = {
    "correct": (tr("Answered correctly"), ":material/check_circle:"),
    "wrong": (tr("Answered wrongly"), ":material/cancel:"),
    "rightly_refused": (tr("Rightly said the documents do not say"), ":material/block:"),
    "refused": (tr("Said the documents do not say, though they do"), ":material/help:"),
}


def show_outcomes(found: list[Outcomes]) -> None:
    """Right, wrong, refused — per configuration — and the questions behind each count."""
    if not any(result.asked for result in found):
        st.info(tr("This run measured search only: no answers were asked for, so it cannot "
                   "say whether answers are right. Run it without “Retrieval only”."),
                icon=":material/info:")
        return
    for result in found:
        if len(found) > 1:
            st.subheader(result.label)
        cols = st.columns(len(KIND_WORDS))
        for col, (kind, (words, _)) in zip(cols, KIND_WORDS.items(), strict=True):
            share = result.share(kind)
            col.metric(words, result.count(kind),
                       delta=tr("{share} of the questions asked", share=f"{share:.0%}")
                       if share is not None else None, delta_color="off", delta_arrow="off")
        for kind, (words, icon) in KIND_WORDS.items():
            examples = result.examples[kind]
            if not examples:
                continue
            with st.expander(f"{words} ({len(examples)})", icon=icon):
                pick = st.selectbox(tr("Question"), range(len(examples)),
                                    format_func=lambda i, ex=examples: ex[i].question[:120],
                                    key=f"example-{result.config}-{kind}")
                ex = examples[pick]
                st.markdown(f"**{tr('Answer given')}**")
                st.text(ex.answer or "—")
                st.markdown(f"**{tr('Expected')}**")
                st.text("\n".join(ex.references) or tr("(not answerable from the documents)"))
                if ex.cited:
                    st.caption(tr("cited: {docs}", docs=", ".join(ex.cited)))


with run_tab:
    st.caption(tr("Scores the **{title}** pack's settings (change the pack in the sidebar): "
                  "retrieval recall, answer quality, citations, refusals and speed.",
                  title=title))
    sources = {"Bundled": tr("Bundled"), "Upload": tr("Upload")}
    source = st.radio(tr("Dataset"), list(sources), horizontal=True, key="eval-source",
                      format_func=sources.__getitem__)
    choice: DatasetChoice | str | None = None
    if source == "Bundled":
        bundled = {d.domain: d for d in bundled_datasets(res)}
        if pack_name in bundled:
            choice = bundled[pack_name]
            st.markdown(tr("**{label}**, answered from the pack's sample documents.",
                           label=choice.label))
        else:
            st.info(tr("The {title} pack has no eval/questions.jsonl; upload a dataset.",
                       title=title))
    else:
        st.caption(tr("`questions.jsonl` with `corpus.jsonl` (the evaluation format), or "
                      "pack-style questions alone, answered from the pack's documents."))
        q_file = st.file_uploader("questions.jsonl", type=["jsonl"], key="eval-questions")
        c_file = st.file_uploader(tr("corpus.jsonl (optional)"), type=["jsonl"],
                                  key="eval-corpus")
        if q_file is not None:
            ok, folder = attempt(lambda: save_upload(
                res, q_file.getvalue(), c_file.getvalue() if c_file else None,
                c_file.name if c_file else q_file.name, pack_name))
            choice = str(folder) if ok else None
    a, b, c = st.columns(3)
    k = a.number_input(tr("Headline recall@k"), min_value=1, max_value=100, value=5,
                       key="eval-k")
    limit = b.number_input(tr("Sample of N questions (0 = all)"), min_value=0, value=0,
                           key="eval-limit")
    retrieval_only = c.checkbox(tr("Retrieval only (fast: no answers)"),
                                key="eval-retrieval-only")
    compare = st.multiselect(tr("Configurations side by side (empty = the pack as configured)"),
                             PRESETS, key="eval-compare",
                             help=tr("The same questions under each setting, one column each."))
    running = bool((j := job_slot(RUN_JOB)) and j.running)
    if st.button(tr("Run evaluation"), type="primary", icon=":material/play_arrow:",
                 disabled=choice is None or running, key="run-eval"):
        spec = choice.spec if isinstance(choice, DatasetChoice) else str(choice)
        compare_arg = ",".join(compare) or None
        n = int(limit) or None

        loading = tr("loading the dataset and the models")  # the job thread has no session

        def work(job: Job) -> str:
            job.update(0, None, loading)
            done = run_evaluation(
                res, pack_name, spec, k=int(k), limit=n, retrieval_only=retrieval_only,
                compare=compare_arg,
                on_index=lambda i, total: job.update(i, total, "indexing the corpus"),
                on_step=lambda i, total, cfg: job.update(i, total,
                                                         f"asking the questions ({cfg})"))
            return str(done.folder)

        start_job(RUN_JOB, "eval", tr("Evaluating {title}", title=title), work)
        st.rerun()
    job_panel(RUN_JOB, show_run_result)

with reports_tab:
    reports = list_reports(res)
    if not reports:
        st.info(tr("No reports yet: run an evaluation here or with `verirag eval`."),
                icon=":material/info:")
    else:
        by_path = {str(r.path): r for r in reports}
        chosen = st.selectbox(tr("Report"), list(by_path), key=CHOSEN_REPORT,
                              format_func=lambda p: by_path[p].label)
        ok, view = attempt(lambda: load_report(by_path[chosen].path))
        if ok:
            meta = view.meta
            corpus = meta.get("corpus", {})
            st.caption(tr("{questions} questions, answered from {documents} documents",
                          questions=meta.get("questions"), documents=corpus.get("documents")))
            labels = {str(c["name"]): str(c.get("label", c["name"]))
                      for c in meta.get("configs", [])}
            show_outcomes(outcomes(view.records, labels))
            with st.expander(tr("Search and answer metrics (recall, MRR, nDCG, F1…)"),
                             icon=":material/analytics:"):
                st.caption(tr("{chunks} passages · embedder `{embedder}`",
                              chunks=corpus.get("chunks"), embedder=meta.get("embedder")))
                st.dataframe(view.table, hide_index=True, width="stretch")
                for cfg in meta.get("configs", []):
                    st.caption(f"**{cfg.get('label')}**: {cfg.get('description')}")
                cols = st.columns(2)
                for i, plot in enumerate(view.plots):
                    cols[i % 2].image(str(plot), caption=plot.stem.replace("_", " "))
            if view.markdown:
                st.download_button(tr("Download summary.md"), view.markdown,
                                   file_name="summary.md", icon=":material/download:")
