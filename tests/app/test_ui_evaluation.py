"""The Evaluation page: datasets on offer, a run in the background, the report it leaves.

The uploaded dataset is tiny (four passages, three questions) and the run is retrieval-only,
so the real embedder indexes it in seconds; the report is the same files ``verirag eval``
writes, read back into the comparison table and the plots.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services import Runtime
from app.ui import state
from tests.app.signin import sign_in

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "main.py")
PAGE = "views/3_Evaluation.py"
CORPUS = [
    {"id": "nda-1", "title": "NDA term", "text": "The confidentiality obligations survive for "
     "three years after the agreement ends."},
    {"id": "fees-1", "title": "Fees", "text": "Invoices are payable within thirty days of the "
     "invoice date; late payment accrues interest at 2% above base rate."},
    {"id": "conflict-1", "title": "Conflicts", "text": "A conflict check is run before any new "
     "client or matter is opened."},
    {"id": "data-1", "title": "数据出境",
     "text": "向境外提供个人信息前，应完成个人信息保护影响评估。"},
]
QUESTIONS = [
    {"id": "q1", "question": "How long do NDA confidentiality obligations survive?",
     "answer": "three years", "gold_ids": ["nda-1"]},
    {"id": "q2", "question": "When are invoices payable?", "answer": "within thirty days",
     "gold_ids": ["fees-1"]},
    {"id": "q3", "question": "向境外提供个人信息前应完成什么评估？",
     "answer": "个人信息保护影响评估", "gold_ids": ["data-1"]},
]


def jsonl(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


@pytest.fixture
def eval_page(fresh_runtime: Runtime) -> Iterator[AppTest]:
    state.use_runtime(fresh_runtime)
    at = sign_in(AppTest.from_file(MAIN, default_timeout=300), fresh_runtime)
    at.query_params["pack"] = "legal"
    at.session_state["verirag_ready"] = True  # this page needs no indexed sample packs
    at.run()
    at.switch_page(PAGE).run()
    yield at
    state.use_runtime(None)
    assert not [e.value for e in at.error if e.value.startswith("Something went wrong")]


def test_bundled_dataset_is_the_packs_own_questions(eval_page: AppTest) -> None:
    assert not eval_page.exception
    assert any("Legal pack questions (20)" in m.value for m in eval_page.markdown)
    assert not eval_page.button(key="run-eval").disabled
    assert "No reports yet" in eval_page.info[0].value


def test_uploaded_dataset_runs_in_the_background_and_its_report_is_shown(
        eval_page: AppTest, fresh_runtime: Runtime) -> None:
    eval_page.radio(key="eval-source").set_value("Upload").run()
    eval_page.file_uploader(key="eval-questions").set_value(
        ("questions.jsonl", jsonl(QUESTIONS), "application/jsonl"))
    eval_page.file_uploader(key="eval-corpus").set_value(
        ("corpus.jsonl", jsonl(CORPUS), "application/jsonl")).run()
    eval_page.checkbox(key="eval-retrieval-only").check()
    eval_page.multiselect(key="eval-compare").set_value(["dense", "bm25"]).run()
    eval_page.button(key="run-eval").click().run()
    job = state.jobs().get(eval_page.session_state["job-eval"])
    assert job is not None and job.wait(300)
    eval_page.run()
    assert not eval_page.exception
    assert job.error is None and eval_page.success[0].value.startswith("Done.")
    assert not [i for i in eval_page.info if "home" in i.value], "no server path shown"
    assert ["measured search only" in i.value for i in eval_page.info] == [True]

    table = eval_page.dataframe[0].value  # the specialist metrics, under their expander
    assert list(table.columns) == ["metric", "dense", "bm25"]
    assert "recall@5" in list(table["metric"])
    assert len(eval_page.image) >= 3  # metric bars, recall@k curve, latency
    (report,) = (fresh_runtime.resources.settings.home / "eval-reports").iterdir()
    assert (report / "report.json").is_file() and (report / "summary.md").is_file()


def test_a_report_says_first_how_many_answers_were_right_wrong_or_refused(
        eval_page: AppTest) -> None:
    """The legal pack quotes (no generator), so answering three questions takes seconds."""
    eval_page.radio(key="eval-source").set_value("Upload").run()
    eval_page.file_uploader(key="eval-questions").set_value(
        ("questions.jsonl", jsonl([*QUESTIONS, {
            "id": "q4", "question": "What is the office's parking policy?",
            "gold_ids": []}]), "application/jsonl"))
    eval_page.file_uploader(key="eval-corpus").set_value(
        ("corpus.jsonl", jsonl(CORPUS), "application/jsonl")).run()
    eval_page.button(key="run-eval").click().run()
    job = state.jobs().get(eval_page.session_state["job-eval"])
    assert job is not None and job.wait(300) and job.error is None
    eval_page.tabs[1].run()
    shown = {m.label: int(m.value) for m in eval_page.metric}
    assert sum(shown.values()) == 4 and set(shown) == {
        "Answered correctly", "Answered wrongly", "Rightly said the documents do not say",
        "Said the documents do not say, though they do"}
    assert shown["Answered correctly"] >= 2
    right = next(e for e in eval_page.expander if e.label.startswith("Answered correctly"))
    assert any(t.value in ("three years", "within thirty days", "个人信息保护影响评估")
               for t in right.text), "an example: the answer and what was expected"


def test_malformed_upload_is_one_clear_line(eval_page: AppTest) -> None:
    eval_page.radio(key="eval-source").set_value("Upload").run()
    eval_page.file_uploader(key="eval-questions").set_value(
        ("questions.jsonl", b'{"id": "q1", "question": "What?"\n', "application/jsonl")).run()
    assert not eval_page.exception
    assert eval_page.error[0].value.startswith("uploaded questions.jsonl:1: not valid JSON")
    assert eval_page.button(key="run-eval").disabled
