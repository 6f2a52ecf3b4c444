"""Rated answers exported for training: `verirag finetune feedback-data` on a real pack.

Answers come from the real dialog manager (extractive, so no generator is needed) over a
real index; ratings go through the same store the chat's thumbs use. What a maintainer relies
on: rated-up answers become examples, rated-down ones preference pairs against the refusal,
repeats and unusable turns are left out and counted, a turn whose passages were deleted is
never exported with text it did not see, only the pack's admins may export, and it is audited.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.principal import Grant, Principal
from app.dialog.records import AuditRow
from app.feedback import rated_turns
from app.kb_admin import delete_document
from app.models import ModelRegistry
from app.services import Runtime
from finetune.formats import load_examples
from knowledge.ingest import TextDoc
from tests.conftest import Cli
from verirag.errors import AuthError

FEES = TextDoc("account-fees.md", "# Account fees\n\nThe monthly account fee is EUR 4.50. "
               "The fee is waived for customers under 25 years of age.")
HOURS = TextDoc("branch-hours.md", "# Branch hours\n\nBranches open at 9:00 and close at "
                "17:00 on weekdays. Branches are closed on public holidays.")


@pytest.fixture
def rated(fresh_runtime: Runtime) -> tuple[Runtime, dict[str, int]]:
    """Four rated turns: fee +1, the same fee answer again +1, hours -1, off-topic -1."""
    rt = fresh_runtime
    assert rt.resources.ingestor("finance").ingest_texts([FEES, HOURS]).count("indexed") == 2
    dm = rt.dialog("finance", with_generator=False)
    asked = {"fee": "What is the monthly account fee?", "fee again": "What is the monthly "
             "account fee?", "hours": "When do branches open on weekdays?",
             "off-topic": "Who won the football world cup in 1954?"}
    turns = {}
    for key, question in asked.items():
        result = dm.turn(dm.start(), question)
        turns[key] = result.turn_id
    assert rt.sessions.turns(dm.start()) == []
    for key, value, comment in [("fee", 1, ""), ("fee again", 1, ""),
                                ("hours", -1, "that is not what I asked"),
                                ("off-topic", -1, "")]:
        rt.sessions.feedback(turns[key], value, comment)
    return rt, turns


def test_rated_answers_become_examples_and_pairs_the_trainer_reads(
        rated: tuple[Runtime, dict[str, int]], models: ModelRegistry, tmp_path: Path) -> None:
    rt, turns = rated
    cli = Cli(lambda: Runtime(rt.resources.settings, models))
    out = tmp_path / "feedback.jsonl"
    result = cli("finetune", "feedback-data", "finance", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 answers rated up (supervised) and 1 rated down (preference pairs)" in result.output
    assert "left out 1: a repeat" in result.output
    assert "left out 1: no passages were found for it" in result.output

    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_turn = {r["turn_id"]: r for r in rows}
    assert set(by_turn) == {turns["fee"], turns["hours"]}
    liked, disliked = by_turn[turns["fee"]], by_turn[turns["hours"]]
    assert "4.50" in liked["answer"] and "[1]" in liked["answer"]
    assert disliked["chosen"] == rt.resources.pack("finance").refusal_for("en")
    assert "9:00" in disliked["rejected"] and disliked["comment"] == "that is not what I asked"
    assert any("Branches open at 9:00" in p["text"] for p in disliked["passages"])

    examples = load_examples(out, rt.resources.pack("finance"))
    assert sorted(e.kind for e in examples) == ["grounded", "preference"]
    with rt.sessions.sessions() as s:
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "feedback_export")).all()
    assert [a.detail["turns"] for a in audit] == [4]


def test_a_turn_whose_passage_was_deleted_is_left_out(
        rated: tuple[Runtime, dict[str, int]]) -> None:
    rt, turns = rated
    hours_doc = next(d.id for d in rt.resources.kb("finance").repo.documents()
                     if d.name == HOURS.name)
    delete_document(rt, "finance", hours_doc, actor="test")
    exported = rated_turns(rt, "finance", actor="test")
    assert turns["hours"] not in {t.turn_id for t in exported.turns}
    assert exported.sources_gone >= 1
    assert all(HOURS.name not in p.doc_name for t in exported.turns for p in t.passages)


def test_only_the_packs_admin_may_export(rated: tuple[Runtime, dict[str, int]]) -> None:
    rt, _ = rated
    with pytest.raises(AuthError, match="adapters"):
        rated_turns(rt, "finance", actor="v",
                    principal=Principal("v", (Grant("finance", "editor"),)))
    with pytest.raises(AuthError):
        rated_turns(rt, "finance", actor="m",
                    principal=Principal("m", (Grant("medical", "admin"),)))
    admin = Principal("a", (Grant("finance", "admin"),))
    assert len(rated_turns(rt, "finance", actor="a", principal=admin).turns) == 4
