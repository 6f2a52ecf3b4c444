"""Adapters: a pack's LoRA adapters with their metrics; serve one, roll back, train a new one.

Admins only (``ACTION = "adapters"``). The same registry and training run as ``verirag
adapters ...`` and ``verirag finetune``; training runs as a background job whose loss is
plotted live, so the page stays usable. ``finetune`` is imported when a run starts, so the
page opens without loading the training stack.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.jobs import Job
from app.models.adapter_store import AdapterRegistry
from app.ui.i18n import language, tr
from app.ui.login import current_user
from app.ui.state import attempt, current_pack, job_panel, job_slot, runtime, start_job

ICON = ":material/tune:"
ACTION = "adapters"

rt = runtime()
who = current_user()
pack_name = current_pack()
pack = rt.resources.pack(pack_name)
title = pack.title_for(language())  # in the reader's language
TRAIN_JOB = f"finetune-{pack_name}"


def registry() -> AdapterRegistry:
    return rt.resources.adapters(pack_name)


st.header(tr("{title} adapters", title=title))
if pack.models.adapter:
    st.info(tr("pack.toml pins the adapter '{name}': it is served whatever is activated here.",
               name=pack.models.adapter), icon=":material/push_pin:")
if pack.generation.mode != "generate":
    st.caption(tr("This pack answers extractively (quoted sentences), so no adapter is used "
                  "for its answers; adapters still serve evaluations that compare generation."))

ok, entries = attempt(lambda: registry().entries())
if ok and not entries:
    st.info(tr("No adapters yet: the pack serves the base model. Train one below."),
            icon=":material/info:")
if ok and entries:
    def metric(e: Any, key: str) -> str:
        value = e.meta.metrics.get(key) if e.meta else None
        return f"{value:.4f}" if isinstance(value, float) else "—"

    st.dataframe({
        tr("adapter"): [e.name for e in entries],
        tr("served"): [tr("yes") if e.active else "" for e in entries],
        tr("created"): [e.created_at[:16].replace("T", " ") for e in entries],
        tr("eval loss before"): [metric(e, "eval_loss_initial") for e in entries],
        tr("eval loss after"): [metric(e, "eval_loss") for e in entries],
        "rank / alpha": [f"{e.meta.hyperparameters.get('r', '?')} / "
                         f"{e.meta.hyperparameters.get('alpha', '?')}" if e.meta else "—"
                         for e in entries],
        tr("base"): [e.meta.base_model if e.meta else "?" for e in entries],
    }, hide_index=True, width="stretch")
    names = [e.name for e in entries]
    chosen = st.selectbox(tr("Adapter"), names, key=f"adapter-{pack_name}")
    a, b, c, d = st.columns(4)

    def act(label: str, op: Any) -> None:
        done, _ = attempt(op)
        if done:
            rt.audit.record(who.name, "adapter", pack_name, op=label, adapter=chosen)
            st.session_state[f"adapter-msg-{pack_name}"] = tr("{op}: done", op=label)
            st.rerun()

    if a.button(tr("Serve this adapter"), type="primary", key="activate"):
        act("activate", lambda: registry().activate(chosen))
    if b.button(tr("Roll back"), key="rollback", help=tr("Serve the previously served adapter.")):
        act("rollback", lambda: registry().rollback())
    if c.button(tr("Serve the base model"), key="deactivate"):
        act("deactivate", lambda: registry().deactivate())
    if d.button(tr("Delete"), key="delete-adapter", help=tr("Not the one being served.")):
        act("delete", lambda: registry().delete(chosen))
    if msg := st.session_state.pop(f"adapter-msg-{pack_name}", None):
        st.success(msg, icon=":material/check:")

st.subheader(tr("Train on the pack's bundled data"))
bundled = pack.root / "finetune" / "train.jsonl"
if not bundled.is_file():
    st.caption(tr("This pack has no {file}; use `verirag finetune {pack} --data FILE` or "
                  "`verirag finetune make-data {pack}`.", file=bundled.relative_to(pack.root),
                  pack=pack_name))
else:
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input(tr("Epochs"), 1, 20, int(pack.lora.epochs), key="ft-epochs")
    max_steps = c2.number_input(tr("Stop after N updates (0: all)"), 0, 100_000, 0,
                                key="ft-steps")
    activate = c3.toggle(tr("Serve it when done"), value=False, key="ft-activate")
    busy = bool((j := job_slot(TRAIN_JOB)) and j.running)
    if st.button(tr("Start training"), icon=":material/model_training:", disabled=busy,
                 key="ft-start"):
        overrides = {"epochs": int(epochs), "max_steps": int(max_steps) or None}

        def work(job: Job) -> str:
            from finetune.service import run_finetune

            def on_update(update: int, loss: float) -> None:
                job.series.append(loss)
                job.update(update, None, f"update {update}, loss {loss:.4f}")

            run = run_finetune(rt.resources, pack_name, overrides=overrides, activate=activate,
                               log=lambda m: job.update(job.progress.done, None, m),
                               on_update=on_update, progress_bar=False)
            rt.audit.record(who.name, "finetune", pack_name, adapter=run.name,
                            metrics=run.result.metrics)
            return run.name

        start_job(TRAIN_JOB, "finetune", tr("Training a {title} adapter", title=title),
                  work)
        st.rerun()

    @st.fragment(run_every=2.0 if busy else None)
    def live_loss() -> None:
        job = job_slot(TRAIN_JOB)
        if job is not None and job.series:
            st.caption(tr("training loss per update ({n} so far)", n=len(job.series)))
            st.line_chart({"loss": job.series}, height=220)

    live_loss()
    job_panel(TRAIN_JOB, lambda job: st.success(
        tr("Saved adapter {name} — now served.", name=job.result) if activate else
        tr("Saved adapter {name}; serve it above when you are satisfied.", name=job.result)))

st.subheader(tr("Learn from users' ratings"))
FEEDBACK_JOB = f"feedback-{pack_name}"
ok, rated = attempt(lambda: rt.sessions.rated_turns(pack_name))
if ok:
    up = sum(1 for r in rated if r.feedback > 0)
    st.caption(tr("{up} answers rated up and {down} rated down so far. Training on them makes a "
                  "new adapter (answers rated up as examples, answers rated down as preference "
                  "pairs against the refusal), compares it with what is served on the pack's "
                  "evaluation questions, and serves it only if it does no worse.",
                  up=up, down=len(rated) - up))
    feedback_busy = bool((j := job_slot(FEEDBACK_JOB)) and j.running)
    fb_steps = st.number_input(tr("Stop after N updates (0: all)"), 0, 100_000, 0,
                               key="fb-steps")
    if st.button(tr("Train on the ratings"), icon=":material/thumbs_up_down:",
                 disabled=feedback_busy or not rated, key="fb-start"):

        def learn(job: Job) -> tuple[str, bool, str]:
            from app.feedback import rated_turns
            from evals.gate import serve_if_no_worse
            from finetune.feedback import describe_feedback, write_feedback
            from finetune.service import run_finetune

            path = rt.resources.settings.finetune_runs_dir / pack_name / "ratings.jsonl"
            data = write_feedback(rated_turns(rt, pack_name, actor=who.name, principal=who),
                                  pack, path)
            job.update(0, None, describe_feedback(data))
            bundled_eval = pack.root / "finetune" / "eval.jsonl"
            run = run_finetune(rt.resources, pack_name,
                               data=[path, *([bundled] if bundled.is_file() else [])],
                               eval_data=bundled_eval if bundled_eval.is_file() else None,
                               overrides={"max_steps": int(fb_steps) or None},
                               activate=False, progress_bar=False,
                               log=lambda m: job.update(job.progress.done, None, m))
            job.update(job.progress.done, None, "comparing it with what is served")
            verdict = serve_if_no_worse(rt.resources, pack_name, run.name)
            rt.audit.record(who.name, "finetune", pack_name, adapter=run.name, source="ratings",
                            metrics=run.result.metrics, served=verdict.activate,
                            reason=verdict.reason)
            return run.name, verdict.activate, verdict.reason

        start_job(FEEDBACK_JOB, "finetune",
                  tr("Training a {title} adapter on users' ratings", title=title), learn)
        st.rerun()

    def verdict(job: Job) -> None:
        name, served, reason = job.result
        if served:
            st.success(tr("Saved adapter {name} — it did no worse, so it is now served.",
                          name=name), icon=":material/check:")
        else:
            st.warning(tr("Saved adapter {name} — not served, for the reason below.",
                          name=name), icon=":material/block:")
        st.caption(reason)

    job_panel(FEEDBACK_JOB, verdict)
