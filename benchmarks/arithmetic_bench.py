"""Worked-out answers: how often ``app.dialog.arithmetic`` (and ``comparison``) computes, and
how often it is right.

Run from the repository root (not part of the test suite; seconds, no model)::

    .venv/bin/python -m benchmarks.arithmetic_bench                  # ../shared/evalsets/tatqa
    .venv/bin/python -m benchmarks.arithmetic_bench --set tatqa-mini --show-wrong

Each question of the set is given its gold passages (table and text, read by the same loader
as an upload), so this measures the computation, not retrieval. Scored by the evaluation's own
rule (``evals.metrics.correctness``): correct when the answer holds the reference's numbers.
The baseline, run on the same questions in the same process, is what the answerer did before:
quote the row that holds the figures (the row the calculator picked, or for questions it
declines the best-matching row), which holds the inputs but not the average or change asked.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from app.dialog.arithmetic import _rows, calculate, question_terms
from app.dialog.comparison import compare
from app.dialog.tables import row_text
from evals.metrics.correctness import answer_is_correct
from knowledge.loaders.base import normalize_text
from knowledge.loaders.text import parse_plain_text
from knowledge.types import Passage

EVALSETS = Path(__file__).resolve().parents[2] / "shared" / "evalsets"


def _passages(ids: list[str], corpus: dict[str, str]) -> list[Passage]:
    return [Passage(n, n, doc_id, block.text, (), None, 1.0)
            for n, doc_id in enumerate(ids, 1)
            for block in parse_plain_text(normalize_text(corpus[doc_id]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="tatqa", help="a folder of ../shared/evalsets")
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    folder = EVALSETS / args.set
    corpus = {d["id"]: d["text"] for d in map(json.loads, (folder / "corpus.jsonl").open())}
    questions = [json.loads(line) for line in (folder / "questions.jsonl").open()]
    kinds: Counter[str] = Counter()
    computed: Counter[str] = Counter()
    right: Counter[str] = Counter()
    quoted_right: Counter[str] = Counter()
    compared = compared_right = 0
    for q in questions:
        kind = q.get("meta", {}).get("answer_type", "all")
        kinds[kind] += 1
        passages = _passages(q["gold_ids"], corpus)
        worked = calculate(q["question"], passages)
        if worked is None and (worked := compare(q["question"], passages)) is not None:
            compared += 1
            compared_right += answer_is_correct(worked.text, [q["answer"]])
        picks = _rows(passages, question_terms(q["question"]))
        if picks and answer_is_correct(row_text(picks[0].row), [q["answer"]]):
            quoted_right[kind] += 1
        if worked is None:
            continue
        computed[kind] += 1
        ok = answer_is_correct(worked.text, [q["answer"]])
        right[kind] += ok
        if args.show_wrong and not ok:
            print(f"WRONG {q['question']} | gold {q['answer']} | {worked.text}")
    print(f"{args.set}: {len(questions)} questions, gold passages given")
    print("| answer type | questions | computed | computed correctly | precision "
          "| quoting the row: correct |")
    print("|---|---|---|---|---|---|")
    for kind in sorted(kinds, key=lambda k: -kinds[k]):
        precision = f"{right[kind] / computed[kind]:.3f}" if computed[kind] else "-"
        print(f"| {kind} | {kinds[kind]} | {computed[kind]} | {right[kind]} | {precision} "
              f"| {quoted_right[kind]} |")
    total_c, total_r = sum(computed.values()), sum(right.values())
    print(f"overall: computed {total_c} of {len(questions)}, correct {total_r} "
          f"({total_r / max(total_c, 1):.3f}), wrong {total_c - total_r}")
    print(f"of which comparisons (which year highest, how many years above a figure): "
          f"{compared}, correct {compared_right}")
    if quoted_right["arithmetic"]:
        print(f"arithmetic questions: computing answers {right['arithmetic']} correctly, quoting "
              f"the row {quoted_right['arithmetic']} ("
              f"{right['arithmetic'] / quoted_right['arithmetic']:.1f}x)")


if __name__ == "__main__":
    main()
