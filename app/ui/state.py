"""The one Runtime per Streamlit server, and helpers every page shares."""

from __future__ import annotations

import streamlit as st

from app.services import Runtime


@st.cache_resource(show_spinner=False)
def runtime() -> Runtime:
    return Runtime()


def ensure_ready(rt: Runtime) -> None:
    """Index the bundled sample packs on first run, showing progress instead of freezing."""
    if st.session_state.get("verirag_ready"):
        return
    with st.status("Preparing knowledge bases…", expanded=False) as status:
        rt.ensure_bundled_indexed(status=lambda msg: status.update(label=msg))
        status.update(label="Knowledge bases ready", state="complete")
    st.session_state["verirag_ready"] = True
