"""What every page shares: the one Runtime per server, the chosen pack, jobs, error display.

The Runtime is built once per Streamlit server (``st.cache_resource``): one embedder and one
generator in memory for every browser tab. Tests hand the page a Runtime they already built
(``use_runtime``) so the real models are loaded once per test session, not once per page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from app.jobs import Job, JobBoard
from app.services import Runtime
from app.ui.i18n import tr
from verirag.errors import VeriragError

PACK_KEY = "current-pack"  # the one truth of the session's pack; no widget owns it
PACK_WIDGET = "pack"  # the sidebar selector, drawn from PACK_KEY on every run
_injected: list[Runtime] = []


def use_runtime(rt: Runtime | None) -> None:
    """Serve pages from ``rt`` (tests); ``None`` goes back to the server's own Runtime."""
    _injected.clear()
    if rt is not None:
        _injected.append(rt)


@st.cache_resource(show_spinner=False)
def _server_runtime() -> Runtime:
    return Runtime()


def runtime() -> Runtime:
    return _injected[0] if _injected else _server_runtime()


_board: list[JobBoard] = []


def jobs() -> JobBoard:
    """Background work of this server; a job outlives the page run that started it.

    A plain process-wide object rather than ``st.cache_resource``: tests reach it from outside
    a script run to wait for a job.
    """
    if not _board:
        _board.append(JobBoard())
    return _board[0]


def ensure_ready(rt: Runtime) -> None:
    """Index the bundled sample packs on first run, showing progress instead of freezing."""
    if st.session_state.get("verirag_ready"):
        return
    with st.status(tr("Preparing knowledge bases…"), expanded=False) as status:
        rt.resources.ensure_bundled_indexed(status=lambda msg: status.update(label=msg))
        status.update(label=tr("Knowledge bases ready"), state="complete")
    st.session_state["verirag_ready"] = True


def current_pack() -> str:
    """The pack chosen in the sidebar (set by the entry script before any page runs)."""
    return str(st.session_state[PACK_KEY])


def choose_pack() -> None:
    """The selector's change, made the session's pack before the next run draws anything.

    The selector never holds the truth itself: a widget's state is dropped by a run it is not
    drawn in (one cut short by a click on another page), after which the browser's stale
    value would switch the pack silently. It is redrawn from ``PACK_KEY`` every run instead.
    """
    st.session_state[PACK_KEY] = st.session_state[PACK_WIDGET]


def attempt(action: Callable[[], Any], where: Any = st) -> tuple[bool, Any]:
    """Run ``action``; a ``VeriragError`` becomes one red line (never a traceback)."""
    try:
        return True, action()
    except VeriragError as exc:
        where.error(str(exc), icon=":material/error:")
        return False, None


def job_slot(key: str) -> Job | None:
    """The job this browser session started under ``key`` (None when none or forgotten)."""
    return jobs().get(st.session_state.get(f"job-{key}"))


def start_job(key: str, kind: str, label: str, work: Callable[[Job], Any]) -> Job:
    job = jobs().start(kind, label, work)
    st.session_state[f"job-{key}"] = job.id
    return job


def forget_job(key: str) -> None:
    st.session_state.pop(f"job-{key}", None)


def show_job(job: Job) -> None:
    """A job's progress bar while it runs, or its one-line error when it failed."""
    p = job.progress
    if job.running:
        counts = f" ({p.done}/{p.total})" if p.total else ""
        st.progress(p.fraction, text=f"{job.label}: {p.text or tr('starting')}{counts}")
    elif job.error:
        st.error(tr("{label} failed: {error}", label=job.label, error=job.error),
                 icon=":material/error:")


def job_panel(key: str, show_result: Callable[[Job], None]) -> None:
    """Poll this session's job under ``key`` once a second without rerunning the page.

    Only the panel reruns while the job works (a fragment), so the rest of the page stays
    usable; when the job ends the whole page reruns once, so lists it changed are redrawn.
    """
    job = job_slot(key)
    if job is None:
        return
    running_at_start = job.running

    @st.fragment(run_every=1.0 if running_at_start else None)
    def panel() -> None:
        current = job_slot(key)
        if current is None:
            return
        show_job(current)
        if not current.running:
            if running_at_start:
                st.rerun()
            if current.ok:
                show_result(current)

    panel()
