"""The Adapters page: train on the bundled data with live loss, then serve the new adapter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services import Runtime
from app.ui import state
from tests.app.signin import sign_in

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "main.py")
PAGE = "views/4_Adapters.py"


def open_page(rt: Runtime, pack: str) -> AppTest:
    state.use_runtime(rt)
    at = sign_in(AppTest.from_file(MAIN, default_timeout=600), rt)
    at.query_params["pack"] = pack
    at.session_state["verirag_ready"] = True
    at.run()
    return at.switch_page(PAGE).run()


@pytest.fixture
def adapters_page(fresh_runtime: Runtime) -> Iterator[AppTest]:
    at = open_page(fresh_runtime, "medical")
    yield at
    state.use_runtime(None)
    assert not [e.value for e in at.error if e.value.startswith("Something went wrong")]


@pytest.mark.slow
def test_train_then_serve_an_adapter_from_the_page(adapters_page: AppTest,
                                                   fresh_runtime: Runtime) -> None:
    at = adapters_page
    assert at.header[0].value == "Medical adapters"
    assert "No adapters yet" in at.info[0].value
    at.number_input(key="ft-epochs").set_value(1)
    at.number_input(key="ft-steps").set_value(2)
    at.button(key="ft-start").click().run()
    job = state.jobs().get(at.session_state["job-finetune-medical"])
    assert job is not None and job.wait(timeout=900)
    assert job.error is None, job.error
    assert len(job.series) == 2 and all(loss > 0 for loss in job.series)
    at.run()
    table = at.dataframe[0].value
    assert list(table["adapter"]) == [job.result] and list(table["served"]) == [""]
    at.button(key="activate").click().run()
    assert fresh_runtime.resources.adapters("medical").active() == job.result
    assert fresh_runtime.resources.adapter_path(fresh_runtime.resources.pack("medical")) is not None
    assert [e.detail["op"] for e in fresh_runtime.audit.search(action="adapter")] == ["activate"]


@pytest.mark.slow
def test_train_on_users_ratings_from_the_page_serves_only_what_is_no_worse(
        fresh_runtime: Runtime) -> None:
    """Ratings -> export (audited) -> training with DPO pairs -> the gate on the pack's eval
    questions -> served, with the reason shown. The legal pack answers extractively, so the
    new adapter ties with the base: a tie serves it."""
    rt = fresh_runtime
    pack = rt.resources.pack("legal")
    assert rt.resources.ingestor("legal").ingest([pack.root / "docs"]).count("indexed") == 8
    dm = rt.dialog("legal", with_generator=False)
    liked = dm.turn(dm.start(), "How long do confidentiality obligations survive under the "
                                "mutual NDA?")
    disliked = dm.turn(dm.start(), "What are the firm's normal office hours?")
    rt.sessions.feedback(liked.turn_id, 1)
    rt.sessions.feedback(disliked.turn_id, -1, "not what I asked")

    at = open_page(rt, "legal")
    assert any("1 answers rated up and 1 rated down" in c.value for c in at.caption)
    at.number_input(key="fb-steps").set_value(1)
    at.button(key="fb-start").click().run()
    job = state.jobs().get(at.session_state["job-feedback-legal"])
    assert job is not None and job.wait(timeout=900)
    assert job.error is None, job.error
    name, served, reason = job.result
    assert served and "no worse than base" in reason
    at.run()
    assert any(name in s.value and "now served" in s.value for s in at.success)
    assert rt.resources.adapters("legal").active() == name
    (export,) = rt.audit.search(action="feedback_export")
    assert export.detail["turns"] == 2
    (trained,) = rt.audit.search(action="finetune")
    assert trained.detail["source"] == "ratings" and trained.detail["served"] is True
    state.use_runtime(None)
