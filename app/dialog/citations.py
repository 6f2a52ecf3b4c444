"""Checking an answer against its passages, sentence by sentence.

A ``[n]`` marker that points to no passage is removed and counted. A sentence without a
usable citation is matched against the passages by lexical support (the share of its content
tokens found in the passage; CJK text is compared by words and character bigrams): when one
passage clearly supports it the citation is added and marked as attributed, otherwise the
sentence is removed from the answer and reported — an unsourced sentence is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.dialog.types import AnswerSentence
from knowledge.text.cjk import han_count
from knowledge.text.sentences import split_sentences
from knowledge.text.tokenize import search_tokens
from knowledge.types import Passage

MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\]")
# Where a small model starts inventing the next turn or repeating the prompt.
_RUNAWAY = re.compile(r"\n\s*(?:Question|Passages?|User|Assistant|<passage)\b|</?passage",
                      re.IGNORECASE)
MIN_SUPPORT = 0.5
MIN_CITED_SUPPORT = 0.3


@dataclass
class CheckedAnswer:
    sentences: list[AnswerSentence]
    invalid_markers: int
    removed: list[str]

    @property
    def text(self) -> str:
        return render(self.sentences)


def render(sentences: Sequence[AnswerSentence]) -> str:
    """The answer as the user reads it: each sentence with its [n] markers before its stop."""
    parts = []
    for s in sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        body = s.text.rstrip()
        if body and body[-1] in ".!?。！？；;":
            parts.append(f"{body[:-1]} {marks}{body[-1]}" if marks else body)
        else:
            parts.append(f"{body} {marks}".rstrip())
    joiner = "" if parts and _mostly_cjk(" ".join(parts)) else " "
    return joiner.join(parts).strip()


def _mostly_cjk(text: str) -> bool:
    return han_count(text) > len(text) * 0.3


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> set[float]:
    out: set[float] = set()
    for raw in _NUMBER.findall(text):
        try:
            out.add(float(raw.replace(",", "")))
        except ValueError:
            continue
    return out


def support(sentence: str, passage_text: str, question: str = "") -> float:
    """How well a passage backs a sentence (0..1).

    Every number in the sentence must occur in the passage (a dose or a ratio that is not in
    the source is the most harmful error a small model makes). Then: the share of the
    sentence's content tokens found in the passage, counting only tokens the question did not
    already contain, so a sentence that merely restates the question plus an invented claim
    is not "supported" by the question words it repeats.
    """
    if not numbers(sentence) <= numbers(passage_text):
        return 0.0
    tokens = set(search_tokens(sentence))
    if not tokens:
        return 0.0
    new = tokens - set(search_tokens(question))
    basis = new or tokens
    return len(basis & set(search_tokens(passage_text))) / len(basis)


def trim_runaway(text: str) -> str:
    match = _RUNAWAY.search(text)
    return (text[: match.start()] if match else text).strip()


def check_answer(raw: str, passages: Sequence[Passage], question: str = "") -> CheckedAnswer:
    text = trim_runaway(raw)
    out: list[AnswerSentence] = []
    invalid = 0
    removed: list[str] = []
    for start, end in split_sentences(text):
        piece = text[start:end]
        markers: list[int] = []
        for group in MARKER.findall(piece):
            markers.extend(int(x) for x in re.split(r"\s*[,，]\s*", group))
        clean = MARKER.sub("", piece).strip()
        valid = [n for n in dict.fromkeys(markers) if 1 <= n <= len(passages)]
        invalid += len(markers) - len(valid)
        if not search_tokens(clean):
            continue  # punctuation or a stray marker, nothing to cite
        scores = {n: support(clean, p.text, question) for n, p in enumerate(passages, 1)}
        cited = tuple(n for n in valid if scores[n] >= MIN_CITED_SUPPORT)
        if cited:
            out.append(AnswerSentence(clean, cited))
            continue
        best = max(scores, key=lambda n: (scores[n], -n), default=None)
        if best is not None and scores[best] >= MIN_SUPPORT:
            out.append(AnswerSentence(clean, (best,), attributed=True))
        else:
            removed.append(clean)
    return CheckedAnswer(out, invalid, removed)
