"""The old answer check, frozen here as the benchmark's baseline.

Until the claim checker, ``app.dialog.citations.check_answer`` judged each answer sentence by
lexical support: every number of the sentence somewhere in the passage, and enough of its
content words anywhere in the passage (0.3 of them for a cited passage, 0.5 to attribute an
uncited sentence). ``check_answer`` now delegates to the claim checker, so the old rule is
kept here (as it was at commit 2cac479) to compare against. Its scoring function,
``support``, is unchanged in ``app.dialog.citations`` (the evaluation's grounding figure).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.dialog.citations import MIN_SUPPORT, support
from app.dialog.claim_text import MARKER
from knowledge.text.sentences import split_sentences
from knowledge.text.tokenize import search_tokens
from knowledge.types import Passage

MIN_CITED_SUPPORT = 0.3


def render(text: str, citations: Sequence[int]) -> str:
    """The claim as an answer writes it: its [n] markers before its final stop."""
    marks = "".join(f"[{n}]" for n in citations)
    body = text.rstrip()
    if body and body[-1] in ".!?。！？；;":
        return f"{body[:-1]} {marks}{body[-1]}" if marks else body
    return f"{body} {marks}".rstrip()


def old_check(claim: str, cited: Sequence[int], passages: Sequence[Passage],
              question: str = "") -> list[tuple[str, tuple[int, ...]]]:
    """The sentences of the claim the old rule keeps, each with its citations."""
    text = render(claim, cited)
    kept: list[tuple[str, tuple[int, ...]]] = []
    for start, end in split_sentences(text):
        piece = text[start:end]
        markers: list[int] = []
        for group in MARKER.findall(piece):
            markers.extend(int(x) for x in re.split(r"\s*[,，]\s*", group))
        clean = MARKER.sub("", piece).strip()
        valid = [n for n in dict.fromkeys(markers) if 1 <= n <= len(passages)]
        if not search_tokens(clean):
            continue
        scores = {n: support(clean, p.text, question) for n, p in enumerate(passages, 1)}
        good = tuple(n for n in valid if scores[n] >= MIN_CITED_SUPPORT)
        if good:
            kept.append((clean, good))
            continue
        best = max(scores, key=lambda n: (scores[n], -n), default=None)
        if best is not None and scores[best] >= MIN_SUPPORT:
            kept.append((clean, (best,)))
    return kept
