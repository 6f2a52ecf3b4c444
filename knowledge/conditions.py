"""A section whose heading negates what the question states ranks after those that do not.

Protocols put the condition a rule holds under in the heading: "4.1 Conscious, orientated and
able to swallow" and "4.2 Conscious but confused, aggressive or unable to swallow safely" hold
different treatments, and a question saying "conscious, able to swallow" matches both nearly
word for word ("unable" shares its letters with "able"; the second scored 0.460 to the first's
0.417). A heading that says "un-X" or "not X" for an X the question states without
that negation is about the opposite case: it is moved behind the passages that are not,
keeping their order (never dropped: it may still be the only evidence).

English word forms only; Chinese negation ("不能吞咽") is not read here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge.types import Passage

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
# "non-" is left out: it mostly makes a noun of its own ("Non-Disclosure Agreement").
_NEGATED = re.compile(r"\bun([a-z]{4,})\b|\bnot\s+([a-z]{4,})\b")


def negated_conditions(heading: str, question: str) -> set[str]:
    """The words ``question`` states that ``heading`` negates ("able" in "unable to swallow")."""
    asked = question.casefold()
    return _negated(heading, asked, set(_WORD.findall(asked)))


def conditions_first(passages: Sequence[Passage], question: str) -> list[Passage]:
    """``passages`` with those whose heading negates a stated condition moved last."""
    asked = question.casefold()
    words = set(_WORD.findall(asked))  # read once per search, not once per passage
    kept: list[Passage] = []
    moved: list[Passage] = []
    for p in passages:
        (moved if _negated(" ".join(p.heading_path), asked, words) else kept).append(p)
    return kept + moved


def _negated(heading: str, asked: str, words: set[str]) -> set[str]:
    found = set()
    for m in _NEGATED.finditer(heading.casefold()):
        word = m.group(1) or m.group(2)
        if word in words and m.group(0) not in asked:
            found.add(word)
    return found
