"""An answer checked sentence by sentence, numbered, and rendered as the reader sees it.

Each sentence goes through ``app.dialog.claims.check_claim``: kept with the one passage that
supports it (the cited one when it does; otherwise the passage that does, marked attributed),
or removed and reported with its reason — an unsourced sentence is worse than none. A ``[n]``
marker that points to no passage is removed and counted. Citations are then numbered 1..n in
the order the answer first uses them (``Numbering``), so the reader never sees "[3]" before
"[1]" or a gap; the passages are reordered to match. A table row is rendered as a small table.

``support`` (the share of a sentence's words found in a passage, numbers required) is the
evaluation's looser grounding figure, kept for comparability with earlier reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from app.dialog.claim_text import split_markers
from app.dialog.claims import check_claim
from app.dialog.types import AnswerSentence
from knowledge.text.cjk import han_count
from knowledge.text.sentences import split_sentences
from knowledge.text.tokenize import search_tokens
from knowledge.types import Passage

# Where a small model starts inventing the next turn or repeating the prompt.
_RUNAWAY = re.compile(r"\n\s*(?:Question|Passages?|User|Assistant|<passage)\b|</?passage",
                      re.IGNORECASE)
MIN_SUPPORT = 0.5


@dataclass
class CheckedAnswer:
    sentences: list[AnswerSentence]
    invalid_markers: int
    removed: list[str]

    @property
    def text(self) -> str:
        return render(self.sentences)


class Numbering:
    """Citation numbers in order of first use: the first passage the answer cites is [1].

    The answerer numbers sentences as they stream (``sentence``) and, at the end, reorders
    the passages the same way (``passages``), so streamed and final numbers agree.
    """

    def __init__(self) -> None:
        self.order: list[int] = []

    def number(self, n: int) -> int:
        if n not in self.order:
            self.order.append(n)
        return self.order.index(n) + 1

    def sentence(self, s: AnswerSentence) -> AnswerSentence:
        return replace(s, citations=tuple(dict.fromkeys(self.number(n) for n in s.citations)))

    def passages(self, sources: Sequence[Passage]) -> list[Passage]:
        """The passages renumbered: cited ones first in order of use, then the rest."""
        rest = [n for n in range(1, len(sources) + 1) if n not in self.order]
        return [sources[n - 1] for n in [*self.order, *rest]]


def render_sentence(s: AnswerSentence) -> str:
    """One sentence with its [n] markers before its stop; a table row as a small table."""
    marks = "".join(f"[{n}]" for n in s.citations)
    if s.row:
        head = "| " + " | ".join(_cell(name) for name, _ in s.row) + " |"
        rule = "|" + "---|" * len(s.row)
        values = [_cell(value) for _, value in s.row]
        values[-1] = f"{values[-1]} {marks}".rstrip()
        return f"\n\n{head}\n{rule}\n| " + " | ".join(values) + " |\n\n"
    body = s.text.rstrip()
    if body and body[-1] in ".!?。！？；;":
        return f"{body[:-1]} {marks}{body[-1]}" if marks else body
    return f"{body} {marks}".rstrip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or " "


def render(sentences: Sequence[AnswerSentence]) -> str:
    """The answer as the user reads it (sentences joined; Chinese without spaces)."""
    return "".join(render_piece(s, i, sentences) for i, s in enumerate(sentences)).strip()


def render_piece(s: AnswerSentence, index: int, sentences: Sequence[AnswerSentence]) -> str:
    """Sentence ``index`` as it is appended to the ones before it (with the joining space)."""
    text = render_sentence(s)
    if index == 0 or s.row or sentences[index - 1].row or _mostly_cjk(text):
        return text
    return " " + text


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


class CheckedStream:
    """Checks an answer sentence by sentence while it is written, so only checked text is shown.

    ``feed`` the model's pieces; each sentence is judged by ``check_claim`` as soon as the
    next one has begun (its end is then certain) and, if kept, handed to ``on_sentence``.
    ``finish`` judges the last one. Text after a runaway marker (the model starting a new
    "Question:" turn) is never judged.
    """

    def __init__(self, passages: Sequence[Passage], question: str = "",
                 on_sentence: Callable[[AnswerSentence], None] | None = None) -> None:
        self.passages = passages
        self.question = question
        self.on_sentence = on_sentence
        self.sentences: list[AnswerSentence] = []
        self.removed: list[str] = []
        self.invalid = 0
        self._text = ""
        self._done = 0
        self._stopped = False

    def feed(self, piece: str) -> None:
        if self._stopped:
            return
        self._text += piece
        runaway = _RUNAWAY.search(self._text, max(0, self._done - 20))
        if runaway:
            self._text = self._text[: runaway.start()]
            self._stopped = True
            return
        spans = split_sentences(self._text[self._done:])
        for start, end in spans[:-1]:
            self._judge(self._text[self._done + start : self._done + end])
        if len(spans) > 1:
            self._done += spans[-1][0]

    def finish(self) -> CheckedAnswer:
        for start, end in split_sentences(self._text[self._done:]):
            self._judge(self._text[self._done + start : self._done + end])
        self._done = len(self._text)
        return CheckedAnswer(self.sentences, self.invalid, self.removed)

    def _judge(self, piece: str) -> None:
        clean, markers = split_markers(piece)
        valid = [n for n in dict.fromkeys(markers) if 1 <= n <= len(self.passages)]
        self.invalid += len(markers) - len([n for n in markers if 1 <= n <= len(self.passages)])
        if not search_tokens(clean):
            return  # punctuation or a stray marker, nothing to judge
        verdict = check_claim(clean, self.passages, cited=valid, question=self.question,
                              earlier=[s.text for s in self.sentences])
        if not verdict.kept:
            self.removed.append(f"{verdict.reason}: {verdict.text or clean}")
            return
        sentence = AnswerSentence(verdict.text, verdict.citations,
                                  attributed=verdict.attributed, evidence=verdict.evidence)
        self.sentences.append(sentence)
        if self.on_sentence:
            self.on_sentence(sentence)


def check_answer(raw: str, passages: Sequence[Passage], question: str = "") -> CheckedAnswer:
    """A whole answer checked at once (what ``CheckedStream`` does piece by piece)."""
    stream = CheckedStream(passages, question)
    stream.feed(raw)
    return stream.finish()
