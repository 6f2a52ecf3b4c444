"""Conversation tables: migrated like the knowledge tables, feedback and audit kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from app.dialog.records import SCHEMA, AppBase, AuditRow
from app.services import Runtime
from knowledge.ingest import TextDoc
from knowledge.store.migrate import current_revision, head_revision
from verirag.errors import VeriragError
from verirag.settings import load_settings


def test_conversation_tables_match_their_migrations(tmp_path: Path) -> None:
    rt = Runtime(load_settings(home=tmp_path))
    assert current_revision(rt.engine, SCHEMA) == head_revision(SCHEMA)
    ours = set(AppBase.metadata.tables)
    opts = {"compare_type": True,
            "include_name": lambda name, type_, parent: type_ != "table" or name in ours}
    with rt.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=opts),
                                AppBase.metadata) == []


def test_feedback_is_stored_with_the_turn_and_each_answer_is_audited(runtime: Runtime) -> None:
    dm = runtime.dialog("finance", with_generator=False)
    sid = dm.start()
    result = dm.turn(sid, "What was Northbridge Bank's CET1 ratio at the end of 2023?")
    runtime.sessions.feedback(result.turn_id, -1, "the ratio is in the table, quote it")
    (turn,) = runtime.sessions.turns(sid)
    assert turn.feedback == -1 and "quote it" in turn.feedback_comment
    with runtime.sessions.sessions() as s:
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "answer")).all()
    row = next(a for a in audit if a.detail["session"] == sid)
    assert row.detail["retrieved_chunk_ids"] == turn.retrieved_chunk_ids
    assert row.detail["question"].startswith("What was Northbridge")
    with pytest.raises(VeriragError, match="feedback is -1"):
        runtime.sessions.feedback(result.turn_id, 5)


def test_the_same_verdict_sent_again_records_nothing(runtime: Runtime) -> None:
    """A widget re-sending its value (a redraw, a pack switch) must not add audit rows."""
    dm = runtime.dialog("legal", with_generator=False)
    result = dm.turn(dm.start(), "Which law governs the mutual NDA?")

    def rows() -> list[tuple[int, str]]:
        with runtime.sessions.sessions() as s:
            found = s.scalars(select(AuditRow).where(AuditRow.action == "feedback")).all()
        return [(a.detail["value"], a.detail["comment"]) for a in found
                if a.detail["turn_id"] == result.turn_id]

    runtime.sessions.feedback(result.turn_id, 0, "")
    assert rows() == [], "no verdict yet, none given: nothing to record"
    runtime.sessions.feedback(result.turn_id, -1, "")
    runtime.sessions.feedback(result.turn_id, -1, "  ")
    runtime.sessions.feedback(result.turn_id, -1, "wrong clause")
    runtime.sessions.feedback(result.turn_id, -1, "wrong clause")
    assert rows() == [(-1, ""), (-1, "wrong clause")]


def test_each_cited_sentence_keeps_the_passage_sentence_that_supports_it(
        runtime: Runtime) -> None:
    """The detail view shows what was checked against what, live and after a resume."""
    from app.conversations import from_result, load_turns

    dm = runtime.dialog("legal", with_generator=False)
    sid = dm.start()
    result = dm.turn(sid, "How long do confidentiality obligations survive under the mutual NDA?")
    live = from_result(result)
    assert live.citations and all(c.supports for c in live.citations)
    for citation in live.citations:
        for sentence, evidence in citation.supports:
            assert sentence in live.answer.replace(f" [{citation.n}]", "")
            assert " ".join(evidence.split()) in " ".join(citation.text.split())
    (resumed,) = load_turns(runtime.sessions, runtime.engine, sid, dm.pack)
    assert [c.supports for c in resumed.citations] == [c.supports for c in live.citations]


def test_conversation_search_takes_the_typed_text_literally(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    rt.resources.ingestor("legal").ingest_texts([TextDoc("fees.md", "# Fees\n\nLate payment "
                                                         "accrues interest at 2% above base.")])
    dm = rt.dialog("legal", with_generator=False)
    for question in ("What interest accrues at 2% above base?", "What is the 20 day rule?"):
        dm.turn(dm.start(), question)
    assert [r.title[:13] for r in rt.sessions.list(pack="legal", search="2%")] == \
        ["What interest"], "'%' is a character here, not a wildcard"
    assert rt.sessions.list(pack="legal", search="2_ day") == []
    assert len(rt.sessions.list(pack="legal", search="what")) == 2
