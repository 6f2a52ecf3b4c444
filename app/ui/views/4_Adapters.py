"""Adapters: a pack's LoRA adapters with their metrics; serve one, roll back, train a new one.

Admins only (``ACTION = "adapters"``). The same registry and training run as ``verirag
adapters ...`` and ``verirag finetune``; training runs as a background job whose loss is
plotted live, so the page stays usable. ``finetune`` is imported when used: the app itself
never depends on it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.jobs import Job
from app.ui.login import current_user
from app.ui.state import attempt, current_pack, job_panel, job_slot, runtime, start_job

ICON = ":material/tune:"
ACTION = "adapters"

rt = runtime()
who = current_user()
pack_name = current_pack()
pack = rt.pack(pack_name)
TRAIN_JOB = f"finetune-{pack_name}"


def registry() -> Any:
    from finetune.registry import AdapterRegistry

    return AdapterRegistry(rt.settings.home, pack_name)


st.header(f"{pack.title} adapters")
if pack.models.adapter:
    st.info(f"pack.toml pins the adapter '{pack.models.adapter}': it is served whatever is "
            "activated here.", icon=":material/push_pin:")
if pack.generation.mode != "generate":
    st.caption("This pack answers extractively (quoted sentences), so no adapter is used for "
               "its answers; adapters still serve evaluations that compare generation.")

ok, entries = attempt(lambda: registry().entries())
if ok and not entries:
    st.info("No adapters yet: the pack serves the base model. Train one below.",
            icon=":material/info:")
if ok and entries:
    def metric(e: Any, key: str) -> str:
        value = e.meta.metrics.get(key) if e.meta else None
        return f"{value:.4f}" if isinstance(value, float) else "—"

    st.dataframe({
        "adapter": [e.name for e in entries],
        "served": ["yes" if e.active else "" for e in entries],
        "created": [e.created_at[:16].replace("T", " ") for e in entries],
        "eval loss before": [metric(e, "eval_loss_initial") for e in entries],
        "eval loss after": [metric(e, "eval_loss") for e in entries],
        "rank / alpha": [f"{e.meta.hyperparameters.get('r', '?')} / "
                         f"{e.meta.hyperparameters.get('alpha', '?')}" if e.meta else "—"
                         for e in entries],
        "base": [e.meta.base_model if e.meta else "?" for e in entries],
    }, hide_index=True, width="stretch")
    names = [e.name for e in entries]
    chosen = st.selectbox("Adapter", names, key=f"adapter-{pack_name}")
    a, b, c, d = st.columns(4)

    def act(label: str, op: Any) -> None:
        done, _ = attempt(op)
        if done:
            rt.audit.record(who.name, "adapter", pack_name, op=label, adapter=chosen)
            st.session_state[f"adapter-msg-{pack_name}"] = f"{label}: done"
            st.rerun()

    if a.button("Serve this adapter", type="primary", key="activate"):
        act("activate", lambda: registry().activate(chosen))
    if b.button("Roll back", key="rollback", help="Serve the previously served adapter."):
        act("rollback", lambda: registry().rollback())
    if c.button("Serve the base model", key="deactivate"):
        act("deactivate", lambda: registry().deactivate())
    if d.button("Delete", key="delete-adapter", help="Not the one being served."):
        act("delete", lambda: registry().delete(chosen))
    if msg := st.session_state.pop(f"adapter-msg-{pack_name}", None):
        st.success(msg, icon=":material/check:")

st.subheader("Train on the pack's bundled data")
bundled = pack.root / "finetune" / "train.jsonl"
if not bundled.is_file():
    st.caption(f"This pack has no {bundled.relative_to(pack.root)}; use `verirag finetune "
               f"{pack_name} --data FILE` or `verirag finetune make-data {pack_name}`.")
else:
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input("Epochs", 1, 20, int(pack.lora.epochs), key="ft-epochs")
    max_steps = c2.number_input("Stop after N updates (0: all)", 0, 100_000, 0,
                                key="ft-steps")
    activate = c3.toggle("Serve it when done", value=False, key="ft-activate")
    busy = bool((j := job_slot(TRAIN_JOB)) and j.running)
    if st.button("Start training", icon=":material/model_training:", disabled=busy,
                 key="ft-start"):
        overrides = {"epochs": int(epochs), "max_steps": int(max_steps) or None}

        def work(job: Job) -> str:
            from finetune.service import run_finetune

            def on_update(update: int, loss: float) -> None:
                job.series.append(loss)
                job.update(update, None, f"update {update}, loss {loss:.4f}")

            run = run_finetune(rt, pack_name, overrides=overrides, activate=activate,
                               log=lambda m: job.update(job.progress.done, None, m),
                               on_update=on_update, progress_bar=False)
            rt.audit.record(who.name, "finetune", pack_name, adapter=run.name,
                            metrics=run.result.metrics)
            return run.name

        start_job(TRAIN_JOB, "finetune", f"Training a {pack.title} adapter", work)
        st.rerun()

    @st.fragment(run_every=2.0 if busy else None)
    def live_loss() -> None:
        job = job_slot(TRAIN_JOB)
        if job is not None and job.series:
            st.caption(f"training loss per update ({len(job.series)} so far)")
            st.line_chart({"loss": job.series}, height=220)

    live_loss()
    job_panel(TRAIN_JOB, lambda job: st.success(
        f"Saved adapter {job.result}" + (" — now served." if activate else
                                         "; serve it above when you are satisfied.")))
