"""Hostile or absurd input: each gets a clear message or is handled safely, nothing breaks.

Malformed session ids, SQL-looking ids and control-character-only questions are covered in
``test_dialogs.py``; this file covers the rest of the list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.dialog.records import ChatSessionRow, TurnRow
from app.dialog.state import SNAPSHOT_TURNS, DialogState, Turn
from app.services import Runtime
from knowledge.ingest import TextDoc
from verirag.errors import VeriragError

UI = Path(__file__).resolve().parents[2] / "app" / "ui"


def test_an_overlong_question_says_the_limit(runtime: Runtime) -> None:
    dm = runtime.dialog("legal", with_generator=False)
    with pytest.raises(VeriragError, match=r"characters long; the limit is 4000"):
        dm.turn(dm.start(), "notice period? " * 400)


def test_control_characters_are_dropped_and_the_question_still_answered(
        runtime: Runtime) -> None:
    dm = runtime.dialog("legal", with_generator=False)
    result = dm.turn(dm.start(), "How long must client files\x00 be kept\x1b after a matter "
                                 "closes?\x07")
    assert result.answer.decision == "answer"
    assert "\x00" not in result.answer.question and "\x1b" not in result.answer.question


def test_sql_in_a_question_is_just_text(runtime: Runtime) -> None:
    dm = runtime.dialog("legal", with_generator=False)
    sid = dm.start()
    question = "notice'); DROP TABLE chat_turns; -- what is the notice period?"
    dm.turn(sid, question)
    with runtime.sessions.sessions() as s:
        stored = s.scalar(select(TurnRow.question).where(TurnRow.session_id == sid))
        assert stored == question
        assert s.scalar(select(func.count()).select_from(TurnRow)) >= 1


def test_script_in_a_document_is_indexed_as_text_and_the_ui_never_renders_raw_html(
        fresh_runtime: Runtime) -> None:
    doc = TextDoc("notice.md", "# Notice\n\nThe <script>alert('x')</script> notice period "
                  "is <b>60 days</b> for landlords.")
    assert fresh_runtime.resources.ingestor("legal").ingest_texts([doc]).count("indexed") == 1
    found = fresh_runtime.resources.retriever("legal").search("notice period for landlords")
    assert "<script>alert('x')</script>" in found.passages[0].text  # kept verbatim, as data
    offenders = [p.name for p in UI.rglob("*.py") if "unsafe_allow_html" in p.read_text()]
    assert offenders == [], "pages must render document and user text as text"


def test_a_ten_thousand_turn_session_keeps_working_with_bounded_state(
        runtime: Runtime) -> None:
    state = DialogState(pack="legal")
    for i in range(1, 10_001):
        state.add_turn(Turn(i, f"question {i}", f"question {i}", "answer", f"answer {i}", []))
    snapshot = state.snapshot()
    assert len(snapshot["turns"]) == SNAPSHOT_TURNS
    assert DialogState.from_snapshot(snapshot).next_index == 10_001

    dm = runtime.dialog("legal", with_generator=False)
    sid = dm.start()
    full = dict(snapshot, turns=[{"index": i, "question": "q", "query": "q",
                                  "decision": "answer", "answer_text": "a",
                                  "cited_chunk_ids": []} for i in range(1, 10_001)])
    with runtime.sessions.sessions.begin() as s:  # as an older verirag would have stored it
        s.execute(update(ChatSessionRow).where(ChatSessionRow.id == sid).values(state=full))
    result = dm.turn(sid, "How long must client files be kept after a matter closes?")
    assert result.answer.decision == "answer"
    assert result.state.next_index == 10_002
    assert len(runtime.sessions.load(sid).turns) == SNAPSHOT_TURNS
