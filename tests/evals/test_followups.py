"""Multi-turn evaluation searches follow-ups the way the dialog manager does."""

from __future__ import annotations

import json
from pathlib import Path

from domains.pack import load_pack
from evals.datasets import Turn
from evals.followups import standalone_query
from tests.conftest import Cli
from tests.evals.tiny import CORPUS


def _turn(question: str, answer: str = "") -> Turn:
    return Turn(question, (answer,), None, True, True)


def test_a_follow_up_is_searched_with_the_conversation_s_topic() -> None:
    pack = load_pack("medical")
    first = _turn("When should warfarin be stopped before a procedure?", "five days before")
    assert standalone_query([first], pack) == first.question
    query = standalone_query([first, _turn("When is its INR checked?")], pack)
    assert "warfarin" in query.lower() and "inr" in query.lower()
    # A question that names its own topic is searched as asked.
    own = _turn("When are soap and water required?")
    assert standalone_query([first, own], pack) == own.question


def test_a_thank_you_between_turns_does_not_lose_the_topic() -> None:
    pack = load_pack("medical")
    first = _turn("When should warfarin be stopped before a procedure?", "five days before")
    thanks = _turn("Thank you!", "You're welcome.")
    assert standalone_query([first, thanks], pack) == "Thank you!"
    query = standalone_query([first, thanks, _turn("When is its INR checked?")], pack)
    assert "warfarin" in query.lower() and "inr" in query.lower()
    assert "thank" not in query.lower()


def test_eval_records_the_rewritten_query_unless_told_not_to(
        cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "dialog-set"
    folder.mkdir()
    dialog = {"id": "d", "turns": [
        {"question": "When should warfarin be stopped before a procedure?",
         "answer": "five days before", "gold_ids": ["warf-1"]},
        {"question": "When is its INR checked?", "answer": "the day before surgery",
         "gold_ids": ["warf-1"]}]}
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CORPUS), encoding="utf-8")
    (folder / "questions.jsonl").write_text(json.dumps(dialog) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("eval", "medical", "--dataset", str(folder), "--retrieval-only",
                  "--compare", "pack,no-rewrite", "--out", str(out), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    records = json.loads((out / "report.json").read_text(encoding="utf-8"))["records"]
    queries = {(r["config"], r["turn"]): r["query"] for r in records}
    assert queries[("no-rewrite", 2)] == "When is its INR checked?"
    assert "warfarin" in queries[("pack", 2)].lower()
    assert queries[("pack", 1)] == queries[("no-rewrite", 1)]
