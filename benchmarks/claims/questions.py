"""Questions with their gold passage, for echo claims and for true claims asked about.

Multi-turn sets (mtrag) store questions per turn; every turn with gold passages counts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.claims.corpus import load_rows


@dataclass(frozen=True)
class Question:
    dataset: str
    text: str
    gold: str
    answer: str


def _turns(row: dict) -> Iterator[dict]:
    if "turns" in row:
        yield from row["turns"]
    else:
        yield row


def load_questions(root: Path, datasets: Sequence[str], rng: random.Random, per_set: int
                   ) -> list[Question]:
    """Up to ``per_set`` random questions of each set whose first gold passage exists."""
    out: list[Question] = []
    for name in datasets:
        if not (root / name / "questions.jsonl").exists():
            continue
        ids = {row["id"] for row in load_rows(root, name)}
        found = [Question(name, str(t["question"]).strip(), t["gold_ids"][0],
                          str(t.get("answer") or ""))
                 for row in load_rows(root, name, "questions.jsonl") for t in _turns(row)
                 if t.get("gold_ids") and t["gold_ids"][0] in ids and t.get("question")]
        out.extend(rng.sample(found, min(per_set, len(found))))
    return out
