"""A report in the words a clinician or an analyst uses: right, wrong, or "the documents do
not say" — with the questions behind each count.

Recall@k and nDCG say how search did; a reader asks whether the answers were right. Each
asked question already carries one verdict (``evals.metrics.correctness``); here they are
counted per configuration, refusals split into those that were right to refuse (the question
is not answerable from the documents) and those that missed an answer, and each kept with
its question, answer and reference so the page can show examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("correct", "wrong", "rightly_refused", "refused", "not_judged")


@dataclass(frozen=True)
class Example:
    question: str
    answer: str
    references: list[str]
    cited: list[str]
    decision: str


@dataclass
class Outcomes:
    config: str
    label: str
    examples: dict[str, list[Example]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @property
    def asked(self) -> int:
        return sum(len(v) for k, v in self.examples.items() if k != "not_judged")

    def count(self, kind: str) -> int:
        return len(self.examples[kind])

    def share(self, kind: str) -> float | None:
        return self.count(kind) / self.asked if self.asked else None


def _kind(record: dict[str, Any]) -> str:
    outcome = record.get("outcome")
    if outcome == "correct":
        return "correct"
    if outcome == "confidently_wrong":
        return "wrong"
    if outcome == "refused":
        return "refused" if record.get("answerable", True) else "rightly_refused"
    return "not_judged"


def outcomes(records: list[dict[str, Any]], labels: dict[str, str]) -> list[Outcomes]:
    """Per configuration (in ``labels``' order), each question sorted into one kind.

    A refusal of an unanswerable question counts as a right refusal: the documents do not
    say, and the system said so. A retrieval-only run asked nothing: every question is
    ``not_judged``.
    """
    found = {name: Outcomes(name, label) for name, label in labels.items()}
    for r in records:
        target = found.setdefault(str(r["config"]), Outcomes(str(r["config"]),
                                                             str(r["config"])))
        target.examples[_kind(r)].append(Example(
            str(r.get("question", "")), str(r.get("answer") or ""),
            [str(x) for x in r.get("references") or []],
            [str(x) for x in r.get("cited_docs") or []], str(r.get("decision") or "")))
    return list(found.values())
