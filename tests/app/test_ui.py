"""The Streamlit app's Chat page, driven through Streamlit's own test harness.

The app runs from its real entry script (``app/ui/main.py``, what ``verirag serve`` starts)
over the session's already indexed sample packs: ``use_runtime`` hands the page that Runtime,
so the real models are loaded once per test session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from app.dialog.records import AuditRow
from app.services import Runtime
from app.ui import state
from app.ui.chat_view import escape_md
from tests.app.signin import sign_in

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "main.py")
RETENTION_Q = "How long must client files be kept after a matter closes?"


def bugs(at: AppTest) -> list[str]:
    """Errors from the entry script's catch-all: a bug shown as one line, not a traceback."""
    return [e.value for e in at.error if e.value.startswith("Something went wrong")]


def open_app(rt: Runtime, pack: str | None = None) -> AppTest:
    at = sign_in(AppTest.from_file(MAIN, default_timeout=300), rt)
    if pack:
        at.query_params["pack"] = pack
    return at.run()


@pytest.fixture
def chat(runtime: Runtime) -> Iterator[AppTest]:
    state.use_runtime(runtime)
    at = open_app(runtime)
    yield at
    state.use_runtime(None)
    assert not bugs(at)


def test_chat_page_offers_every_pack_and_shows_the_disclaimer(chat: AppTest) -> None:
    assert not chat.exception
    assert chat.selectbox(key="pack").options == ["Finance", "Legal", "Medical"]
    assert chat.header[0].value == "Finance assistant"
    chat.selectbox(key="pack").select("legal").run()
    assert chat.header[0].value == "Legal assistant"
    assert any("not legal advice" in c.value for c in chat.caption)
    assert chat.query_params["pack"] == "legal"


def test_pack_can_be_chosen_by_link(runtime: Runtime) -> None:
    state.use_runtime(runtime)
    try:
        at = open_app(runtime, pack="medical")
    finally:
        state.use_runtime(None)
    assert not at.exception and not bugs(at)
    assert at.header[0].value == "Medical assistant"


def test_answer_has_expandable_citations_and_takes_feedback(chat: AppTest,
                                                            runtime: Runtime) -> None:
    chat.selectbox(key="pack").select("legal").run()
    chat.chat_input[0].set_value(RETENTION_Q).run()
    assert not chat.exception
    answer = " ".join(m.value for m in chat.markdown)
    assert "[1]" in answer
    cited = [e for e in chat.expander if e.label.startswith("[1] ")]
    assert cited and "document-retention-policy.md" in cited[0].label
    assert "retrieval score" in cited[0].caption[0].value
    assert "matter closure date" in cited[0].markdown[0].value  # the passage, not its name
    assert any("client files" in m.value for m in chat.sidebar.markdown)  # query searched for

    chat.feedback[0].set_value(0).run()  # thumbs down
    chat.text_input[0].input("quote the table row instead").run()
    assert not chat.exception
    assert any("Feedback saved" in c.value for c in chat.caption)
    (turn,) = runtime.sessions.turns(chat.session_state["session-legal"])
    assert turn.feedback == -1 and turn.feedback_comment == "quote the table row instead"
    with runtime.sessions.sessions() as s:
        audited = s.scalars(select(AuditRow).where(AuditRow.action == "feedback")).all()
    mine = [a.detail for a in audited if a.detail["turn_id"] == turn.id]
    assert [d["value"] for d in mine] == [-1, -1]  # the verdict, then the verdict with a comment
    assert mine[-1]["comment"] == "quote the table row instead"


def test_past_conversation_resumes_with_its_sources(chat: AppTest, runtime: Runtime) -> None:
    chat.selectbox(key="pack").select("legal").run()
    chat.chat_input[0].set_value(RETENTION_Q).run()
    session_id = chat.session_state["session-legal"]

    state.use_runtime(runtime)  # a new browser session
    later = open_app(runtime, pack="legal")
    resume = later.selectbox(key="resume-legal")
    assert any(RETENTION_Q[:30] in option for option in resume.options)
    resume.set_value(session_id).run()
    assert not later.exception
    assert later.chat_message[0].text[0].value == RETENTION_Q
    cited = [e for e in later.expander if e.label.startswith("[1] ")]
    assert cited and "matter closure date" in cited[0].markdown[0].value
    later.button(key="new-conversation").click().run()
    assert not later.chat_message and not bugs(later)


def test_out_of_scope_question_is_shown_as_a_refusal(chat: AppTest) -> None:
    chat.selectbox(key="pack").select("finance").run()
    chat.chat_input[0].set_value("What is the daily cash withdrawal limit at cash machines?").run()
    assert not chat.exception
    assert chat.warning and "do not say" in chat.warning[0].value


def test_follow_up_shows_the_rewritten_query_and_the_state(chat: AppTest) -> None:
    chat.selectbox(key="pack").select("finance").run()
    chat.chat_input[0].set_value("What was Northbridge Bank's profit before tax in 2023?").run()
    chat.chat_input[0].set_value("And in 2022?").run()
    assert not chat.exception
    last_query = next(m.value for m in chat.sidebar.markdown if m.value.startswith(">"))
    assert "profit before tax" in last_query and "2022" in last_query
    table = chat.sidebar.table[0].value
    assert "2022" in list(table["value"])
    assert any(str(who).startswith("turn 2") for who in table["set by"])


def test_thanks_gets_a_reply_without_a_search_and_the_topic_stays(chat: AppTest) -> None:
    chat.selectbox(key="pack").select("finance").run()
    chat.chat_input[0].set_value("What was Northbridge Bank's profit before tax in 2023?").run()
    chat.chat_input[0].set_value("Thanks!").run()
    assert not chat.exception and not chat.warning
    assert any(m.value.startswith("You're welcome") for m in chat.main.markdown)
    details = [e for e in chat.expander if e.label == "How this answer was made"]
    assert len(details) == 1, "the small-talk turn has no search to explain"
    last_query = next(m.value for m in chat.sidebar.markdown if m.value.startswith(">"))
    assert "2023" in last_query, "the sidebar keeps the last search, not the small talk"
    chat.chat_input[0].set_value("And in 2022?").run()
    last_query = next(m.value for m in chat.sidebar.markdown if m.value.startswith(">"))
    assert "profit before tax" in last_query and "2022" in last_query


def test_empty_question_is_one_clear_line(chat: AppTest) -> None:
    chat.selectbox(key="pack").select("legal").run()
    chat.chat_input[0].set_value("   \u200b").run()
    assert not chat.exception
    assert chat.error and "empty" in chat.error[0].value


@pytest.mark.parametrize("text", [
    "See ![chart](http://127.0.0.1:8765/pixel.png) for the rates.",
    "Details [on the portal](https://intranet.example/rates) and <http://x.example>.",
    "Rates at www.example.com or https://example.com/a?b=1 today.",
    "Costs $5 and `code` and <img src=x onerror=alert(1)> here [1].",
])
def test_document_text_shown_as_markdown_has_no_live_link_or_image(text: str) -> None:
    """Links and images written in a document render as text (an attack run saw the browser
    fetch an image from a local server through an answer)."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(escape_md(text))
    assert "<a " not in html and "<img" not in html and "<code>" not in html
    assert "://" not in escape_md(text) and "www." not in escape_md(text)
    assert "[1]" in html or "[1]" not in text, "citation markers still read as [n]"


def test_answers_keep_their_tables_and_emphasis() -> None:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(
        escape_md("**INR** targets:\n\n| indication | INR |\n| --- | --- |\n| AF | 2.5 |\n"))
    assert "<strong>INR</strong>" in html and "<table>" in html and "<td>2.5</td>" in html


@pytest.mark.slow
def test_the_disclaimer_is_said_once_however_many_answers(chat: AppTest) -> None:
    chat.selectbox(key="pack").select("medical").run()
    chat.chat_input[0].set_value("When must staff perform hand hygiene?").run()
    chat.chat_input[0].set_value("How many days before a planned procedure should warfarin "
                                 "be stopped?").run()
    assert not chat.exception and len(chat.chat_message) == 4
    assert [t.decision for t in chat.session_state["turns-medical"]] == ["answer", "answer"]
    said = [c.value for c in chat.caption if "not a diagnosis" in c.value]
    assert len(said) == 1, said
    explained = [e for e in chat.expander if e.label == "How this answer was made"]
    assert not [c.value for c in chat.caption if "sentence(s) removed:" in c.value], \
        "no bare count of removals under the answer"
    assert all("removed by the check" in c.value for e in explained for c in e.caption
               if "sentence(s)" in c.value), "they are explained in the detail view"


def test_a_citation_opens_on_its_page_in_the_document(chat: AppTest) -> None:
    chat.selectbox(key="pack").select("legal").run()
    chat.chat_input[0].set_value("How long do confidentiality obligations survive under the "
                                 "mutual NDA?").run()
    (turn,) = chat.session_state["turns-legal"]
    cited = next(c for c in turn.citations if c.doc_name == "mutual-nda-template.pdf")
    chat.toggle(key=f"src-{turn.turn_id}-{cited.n}").set_value(True).run()
    assert not chat.exception
    opened = next(e for e in chat.expander if e.label.startswith(f"[{cited.n}] "))
    shown = [type(e).__name__ for e in opened]
    assert "Image" in shown, "the cited page, rendered"
    assert "DownloadButton" in shown, "the signed-in admin may download the original"
    image = next(e for e in opened if type(e).__name__ == "Image")
    assert "the cited passage highlighted" in str(image.proto)


def test_conversations_are_searched_renamed_and_deleted(chat: AppTest, runtime: Runtime) -> None:
    chat.selectbox(key="pack").select("legal").run()
    chat.chat_input[0].set_value(RETENTION_Q).run()
    sid = chat.session_state["session-legal"]
    chat.text_input(key=f"title-{sid}").input("File retention").run()
    chat.button(key="rename-conversation").click().run()
    assert not chat.exception
    assert runtime.sessions.list(pack="legal", search="File retention")[0].id == sid
    chat.text_input(key="search-legal").input("retention").run()
    assert any("File retention" in o for o in chat.selectbox(key="resume-legal").options)
    chat.text_input(key="search-legal").input("no such words anywhere").run()
    assert chat.selectbox(key="resume-legal").options == []
    chat.button(key="delete-conversation").click().run()
    chat.button(key="confirm-delete-conversation").click().run()
    assert not chat.exception and not chat.chat_message
    assert not runtime.sessions.list(pack="legal", search="File retention")
    actions = [e.action for e in runtime.audit.search(actor="tester", pack="legal")]
    assert "conversation_rename" in actions and "conversation_delete" in actions
    assert "answer" in actions, "what was answered stays in the audit log"


def test_an_answer_can_be_copied_and_asked_again(chat: AppTest) -> None:
    chat.selectbox(key="pack").select("legal").run()
    chat.chat_input[0].set_value(RETENTION_Q).run()
    copied = chat.get("code")[0].value
    assert "[1]" in copied and "document-retention-policy.md" in copied, "with its sources"
    (first,) = chat.session_state["turns-legal"]
    chat.button(key=f"again-{first.turn_id}").click().run()
    assert not chat.exception
    again = chat.session_state["turns-legal"]
    assert [t.question for t in again] == [RETENTION_Q, RETENTION_Q]
    assert again[1].turn_id != first.turn_id


def test_a_stopped_answer_is_said_to_be_stopped_and_not_recorded(chat: AppTest,
                                                                 runtime: Runtime) -> None:
    """A click while answering reruns the page, which ends that run; the next run says so.
    (The interruption itself is Streamlit's; here: what the reader is told after it.)"""
    chat.selectbox(key="pack").select("legal").run()
    chat.session_state["answering-legal"] = "What is the notice period?"
    chat.run()
    assert "Stopped before the answer" in chat.info[0].value
    assert not chat.session_state["turns-legal"]
