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


@pytest.fixture
def adapters_page(fresh_runtime: Runtime) -> Iterator[AppTest]:
    state.use_runtime(fresh_runtime)
    at = sign_in(AppTest.from_file(MAIN, default_timeout=600), fresh_runtime)
    at.query_params["pack"] = "medical"
    at.session_state["verirag_ready"] = True
    at.run()
    at.switch_page(PAGE).run()
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
