"""A report's questions sorted into right, wrong and refused, with the rights to refuse apart."""

from __future__ import annotations

from evals.verdicts import outcomes


def _record(config: str, outcome: str | None, answerable: bool = True) -> dict[str, object]:
    return {"config": config, "question": f"{outcome}?", "answer": "a", "references": ["r"],
            "cited_docs": ["d.md"], "decision": "answer", "outcome": outcome,
            "answerable": answerable}


def test_each_question_is_counted_once_in_words_a_reader_uses() -> None:
    records = [_record("pack", "correct"), _record("pack", "correct"),
               _record("pack", "confidently_wrong"), _record("pack", "refused"),
               _record("pack", "refused", answerable=False), _record("pack", None),
               _record("dense", None)]
    pack, dense = outcomes(records, {"pack": "the pack", "dense": "dense only"})
    assert (pack.label, pack.asked) == ("the pack", 5)
    assert [pack.count(k) for k in ("correct", "wrong", "rightly_refused", "refused")] == \
        [2, 1, 1, 1]
    assert pack.share("correct") == 0.4
    assert pack.examples["wrong"][0].question == "confidently_wrong?"
    assert dense.asked == 0 and dense.share("correct") is None, "retrieval only: nothing judged"
