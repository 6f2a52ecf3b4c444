"""The Streamlit chat page, driven through Streamlit's own test harness."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services import Runtime

CHAT = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "Chat.py")


@pytest.fixture
def chat(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The chat page over the session's already indexed sample packs."""
    monkeypatch.setenv("VERIRAG_HOME", str(runtime.settings.home))
    at = AppTest.from_file(CHAT, default_timeout=300)
    at.run()
    return at


def test_chat_page_offers_every_pack(chat: AppTest) -> None:
    assert not chat.exception
    assert chat.selectbox[0].options == ["Finance", "Legal", "Medical"]
    assert chat.header[0].value == "Finance assistant"


def test_question_shows_answer_with_expandable_citation(chat: AppTest) -> None:
    chat.selectbox[0].select("legal").run()
    chat.chat_input[0].set_value("How long must client files be kept after a matter closes?").run()
    assert not chat.exception
    answer = " ".join(m.value for m in chat.markdown)
    assert "[1]" in answer
    labels = [e.label for e in chat.expander]
    assert any("document-retention-policy.md" in label for label in labels)


def test_out_of_scope_question_is_shown_as_a_refusal(chat: AppTest) -> None:
    chat.selectbox[0].select("finance").run()
    chat.chat_input[0].set_value("What is the daily cash withdrawal limit at cash machines?").run()
    assert not chat.exception
    assert chat.warning and "do not say" in chat.warning[0].value


def test_follow_up_shows_the_rewritten_query_and_the_state(chat: AppTest) -> None:
    chat.selectbox[0].select("finance").run()
    chat.chat_input[0].set_value("What was Northbridge Bank's profit before tax in 2023?").run()
    chat.chat_input[0].set_value("And in 2022?").run()
    assert not chat.exception
    details = [t.value for t in chat.text if t.value.startswith("searched for:")]
    assert any("profit before tax" in d and "2022" in d for d in details)
    table = chat.sidebar.table[0].value
    assert "fiscal_period" in list(table["slot"]) and "2022" in list(table["value"])
