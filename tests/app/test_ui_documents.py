"""The Documents page: upload with per-file results, the document list, search, delete, re-index.

Runs on an empty data directory (``fresh_runtime``: the session's models, a knowledge base of
its own) so uploading and deleting touch nothing other tests read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services import Runtime
from app.ui import state
from knowledge.ingest import TextDoc
from tests.app.signin import sign_in

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "main.py")
PAGE = "views/2_Documents.py"
ROOFTOP = ("# Harbourview lounge rules\n\nThe rooftop lounge deposit is 425 euros per booking, "
           "refunded within 12 days after the event.\n\n## 中文说明\n\n"
           "屋顶休息室的押金为每次预订425欧元。\n")


@pytest.fixture
def docs_page(fresh_runtime: Runtime) -> Iterator[AppTest]:
    state.use_runtime(fresh_runtime)
    at = sign_in(AppTest.from_file(MAIN, default_timeout=300), fresh_runtime)
    at.query_params["pack"] = "legal"
    # The app opens on Chat, which indexes the sample packs on a first visit; this page is
    # about an empty knowledge base, so that first-visit step is marked done.
    at.session_state["verirag_ready"] = True
    at.run()
    at.switch_page(PAGE).run()
    yield at
    state.use_runtime(None)
    assert not [e.value for e in at.error if e.value.startswith("Something went wrong")]


def wait_for_job(at: AppTest, key: str) -> None:
    job = state.jobs().get(at.session_state[f"job-{key}"])
    assert job is not None and job.wait(300)
    at.run()


def upload(at: AppTest, files: list[tuple[str, bytes, str]], tags: str = "") -> None:
    at.file_uploader[0].set_value(files).run()
    if tags:
        at.text_input(key="tags-legal").input(tags).run()
    at.button(key="index-files").click().run()
    wait_for_job(at, "ingest-legal")


def test_empty_knowledge_base_says_so(docs_page: AppTest) -> None:
    assert not docs_page.exception
    assert docs_page.header[0].value == "Legal documents"
    assert docs_page.metric[0].value == "0"
    assert "No documents yet" in docs_page.info[0].value


def test_upload_reports_each_file_and_lists_the_document(docs_page: AppTest,
                                                         fresh_runtime: Runtime) -> None:
    upload(docs_page, [("harbourview-lounge.md", ROOFTOP.encode(), "text/markdown"),
                       ("copy-of-lounge.md", ROOFTOP.encode(), "text/markdown"),
                       ("empty.txt", b"", "text/plain")], tags="rules, 2024")
    assert not docs_page.exception
    results = docs_page.table[0].value
    outcomes = dict(zip(results["file"], results["result"], strict=True))
    assert outcomes["harbourview-lounge.md"] == "indexed"
    assert "duplicate" in outcomes["copy-of-lounge.md"]
    assert "rejected" in outcomes["empty.txt"]
    reasons = dict(zip(results["file"], results["reason"], strict=True))
    assert reasons["empty.txt"] and "harbourview-lounge.md" in reasons["copy-of-lounge.md"]
    assert docs_page.warning  # a rejected file makes the summary a warning

    listed = docs_page.dataframe[0].value
    assert list(listed["name"]) == ["harbourview-lounge.md"]
    assert list(listed["status"]) == ["ready"] and listed["passages"][0] >= 1
    assert listed["tags"][0] == "rules, 2024"
    assert docs_page.metric[0].value == "1"
    (doc,) = fresh_runtime.resources.kb("legal").documents()
    assert doc.name == "harbourview-lounge.md"


def test_search_shows_the_top_passages(docs_page: AppTest) -> None:
    upload(docs_page, [("harbourview-lounge.md", ROOFTOP.encode(), "text/markdown")])
    docs_page.text_input(key="search-legal").input("屋顶休息室押金").run()
    assert not docs_page.exception
    top = docs_page.expander[0]
    assert top.label.startswith("1. harbourview-lounge.md")
    assert "cosine" in top.caption[0].value
    assert "425" in top.text[0].value


def test_delete_asks_first_then_removes_the_document(docs_page: AppTest,
                                                     fresh_runtime: Runtime) -> None:
    upload(docs_page, [("harbourview-lounge.md", ROOFTOP.encode(), "text/markdown")])
    (doc,) = fresh_runtime.resources.kb("legal").documents()
    docs_page.selectbox(key="delete-legal").set_value(doc.id).run()
    docs_page.button(key="delete-doc").click().run()
    assert "Delete **harbourview-lounge.md**" in docs_page.warning[0].value
    assert fresh_runtime.resources.kb("legal").documents()  # nothing deleted before confirming
    docs_page.button(key="confirm-delete").click().run()
    assert not docs_page.exception
    assert fresh_runtime.resources.kb("legal").documents() == []
    assert any(s.value.startswith("Deleted harbourview-lounge.md") for s in docs_page.success)
    assert "No documents yet" in docs_page.info[0].value
    assert docs_page.selectbox(key="delete-legal").value is None
    found = fresh_runtime.resources.retriever("legal").search("rooftop lounge deposit")
    assert found.passages == []


def test_reindex_runs_in_the_background_and_reports(docs_page: AppTest) -> None:
    upload(docs_page, [("harbourview-lounge.md", ROOFTOP.encode(), "text/markdown")])
    docs_page.button(key="reindex").click().run()
    wait_for_job(docs_page, "rebuild-legal")
    assert not docs_page.exception
    assert any(s.value.startswith("Re-indexed:") for s in docs_page.success)


def test_an_editor_does_not_see_documents_beyond_their_clearance(fresh_runtime: Runtime) -> None:
    """A document's name can be the secret ("merger-project-falcon.md")."""
    ingestor = fresh_runtime.resources.ingestor("legal")
    ingestor.ingest_texts([TextDoc("lounge-rules.md", ROOFTOP)])
    ingestor.ingest_texts([TextDoc("merger-project-falcon.md", "# Falcon\n\nPrice EUR 412m.")],
                          labels=["restricted"])
    state.use_runtime(fresh_runtime)
    try:
        at = sign_in(AppTest.from_file(MAIN, default_timeout=300), fresh_runtime,
                     name="clerk", pack="legal", role="editor")
        at.query_params["pack"] = "legal"
        at.session_state["verirag_ready"] = True
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception
        assert list(at.dataframe[0].value["name"]) == ["lounge-rules.md"]
        assert any("1 more document(s)" in c.value for c in at.caption)
        assert "merger-project-falcon.md" not in str(at.selectbox(key="delete-legal").options)
    finally:
        state.use_runtime(None)


def test_changing_the_pack_keeps_the_picked_files_and_says_where_they_go(
        docs_page: AppTest) -> None:
    docs_page.file_uploader[0].set_value(
        [("harbourview-lounge.md", ROOFTOP.encode(), "text/markdown")]).run()
    assert "into Legal" in docs_page.button(key="index-files").label
    docs_page.selectbox(key="pack").select("finance").run()
    assert not docs_page.exception
    assert docs_page.header[0].value == "Finance documents"
    assert docs_page.selectbox(key="pack").value == "finance", "selector and page agree"
    assert len(docs_page.file_uploader[0].value or []) == 1, "the picked file is still there"
    assert "into Finance" in docs_page.button(key="index-files").label
    assert "chosen while Legal was selected" in docs_page.warning[0].value
