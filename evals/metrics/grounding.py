"""Grounding: are answers cited, do the cited passages back the sentences, are refusals right.

- ``citation_counts``: per answer, the citation markers that point at a real passage (valid)
  and those whose passage supports the sentence citing it: ``app.dialog.citations.support``
  (lexical support, with every number of the sentence required in the passage) at or above
  ``SUPPORT_THRESHOLD``. The threshold is the answerer's own bar for attributing an uncited
  sentence (``MIN_SUPPORT``, 0.5), stricter than the 0.3 it needs to keep a cited one, so a
  weakly-backed citation the answerer kept still counts as unsupported here.
- ``refusal_scores``: refusal as the positive class. Precision = refused unanswerable /
  refused; recall = refused unanswerable / unanswerable. None where the denominator is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.dialog.citations import MIN_SUPPORT, support
from app.dialog.types import Answer

SUPPORT_THRESHOLD = MIN_SUPPORT


@dataclass(frozen=True)
class CitationCounts:
    valid: int
    supported: int

    @property
    def cited(self) -> bool:
        return self.valid > 0


def citation_counts(answer: Answer, threshold: float = SUPPORT_THRESHOLD) -> CitationCounts:
    """Count (sentence, passage) citations that resolve, and those the passage supports."""
    valid = supported = 0
    for sentence in answer.sentences:
        for n in sentence.citations:
            if not 0 < n <= len(answer.sources):
                continue
            valid += 1
            if support(sentence.text, answer.sources[n - 1].text, answer.question) >= threshold:
                supported += 1
    return CitationCounts(valid, supported)


def refusal_scores(refused: Sequence[bool], answerable: Sequence[bool],
                   ) -> tuple[float | None, float | None]:
    """(precision, recall) of refusing, over paired per-question flags."""
    if len(refused) != len(answerable):
        raise ValueError(f"got {len(refused)} refusal flags for {len(answerable)} questions")
    true_pos = sum(1 for r, a in zip(refused, answerable, strict=True) if r and not a)
    n_refused = sum(refused)
    n_unanswerable = sum(1 for a in answerable if not a)
    precision = true_pos / n_refused if n_refused else None
    recall = true_pos / n_unanswerable if n_unanswerable else None
    return precision, recall
