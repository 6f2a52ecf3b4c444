"""Guess which lines of an unstyled document (PDF, plain text) are headings, and how deep.

Formats with real structure (DOCX styles, HTML tags, Markdown #) do not come here. The guess is
a *rank* (smaller = higher in the outline): Chinese part/chapter/section markers, "一、" and
"（一）" items and decimal numbering each have a fixed rank, so a policy numbered 一、/（一）/1.
nests correctly. :func:`assign_levels` then turns the ranks a document actually uses into dense
levels 1..n: decimal numbering keeps its depth when every depth is present ("3 Dosing" = 1,
"3.2 Dose adjustment" = 2).

Unnumbered lines are harder. ALL CAPS lines rank at the top; Title Case lines (no final
period) get no rank of their own and sit one level below the last numbered or ALL CAPS heading
(level 1 before any), since in practice they are unnumbered subsections. What this leaves out:
font size and boldness, which pypdf's plain extraction does not give us.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from knowledge.loaders.base import is_cjk

_NUM_ZH = "一二三四五六七八九十百千零〇两"
_CHINESE_MARKERS = (
    (re.compile(rf"^第[{_NUM_ZH}\d]+\s*(编|篇|部分)(\s|$)"), 10.0),
    (re.compile(rf"^第[{_NUM_ZH}\d]+\s*章(\s|$)"), 20.0),
    (re.compile(rf"^第[{_NUM_ZH}\d]+\s*节(\s|$)"), 30.0),
    (re.compile(rf"^第[{_NUM_ZH}\d]+\s*条(\s|$)"), 40.0),
    (re.compile(rf"^[{_NUM_ZH}]+\s*[、．.]\s*\S"), 50.0),
    (re.compile(rf"^[（(][{_NUM_ZH}]+[)）]\s*\S"), 60.0),
)
_DECIMAL = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,5})(?:\.?\s+|、)(?P<title>\S.*)$")
_ENGLISH = re.compile(
    r"^(part|chapter|section|article|schedule|annex|appendix)\s+"
    r"(?P<num>\d{1,3}(?:\.\d{1,2}){0,4}|[IVXLC]{1,6}|[A-Z])\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_ENGLISH_RANK = {"part": 10.0, "chapter": 20.0}
_ROMAN = re.compile(r"^[IVXLC]{1,6}\.\s+(?P<title>[A-Z].*)$")
_SENTENCE_END = tuple(".;:,!?。；：，！？、")
FULL_STOPS = tuple(".!?。！？")
_INNER_SENTENCE = re.compile(r"[a-z]{2,}[.;] +\S|[。；]\S")
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "per"}
    | {"the", "to", "under", "vs", "with", "without"}
)
DECIMAL_BASE = 100.0
ALL_CAPS_RANK = 1.0


class Guess(NamedTuple):
    """``rank`` None means "one step below the previous explicit heading" (Title Case)."""

    rank: float | None


def ends_sentence(line: str) -> bool:
    """Any clause-final mark, comma included: a heading never ends with one."""
    return line.rstrip().endswith(_SENTENCE_END)


def ends_full_stop(line: str) -> bool:
    """Only sentence-final marks: what a paragraph's last line ends with."""
    return line.rstrip().endswith(FULL_STOPS)


def _reads_like_prose(line: str) -> bool:
    """A sentence break inside the line, or a dangling "of"/"the" at its end, means body text.

    These catch the first line of a wrapped numbered paragraph ("10.1 Entire agreement. This
    agreement constitutes the entire agreement between the") that is otherwise short enough.
    """
    words = line.split()
    return bool(_INNER_SENTENCE.search(line)) or (
        len(words) > 1 and words[-1].lower() in _SMALL_WORDS
    )


def _short_enough(line: str) -> bool:
    if any(is_cjk(c) for c in line):
        return len(line) <= 40
    return len(line) <= 90 and len(line.split()) <= 14


def _title_starts_well(title: str) -> bool:
    """ "12.5 mg daily" is a dose, not section 12.5: the title must start like a title."""
    first = title[:1]
    return bool(first) and (first.isupper() or is_cjk(first))


def _is_all_caps(line: str) -> bool:
    letters = [c for c in line if c.isalpha() and not is_cjk(c)]
    return len(letters) >= 4 and all(c.isupper() for c in letters) and len(line.split()) <= 10


def _is_title_case(line: str) -> bool:
    words = line.split()
    if not 1 <= len(words) <= 10 or not words[0][:1].isupper():
        return False
    if not any(sum(c.isalpha() for c in w) >= 3 for w in words):
        return False
    for word in words:
        head = word.lstrip("(\"'“‘")[:1]
        if head.isalpha() and not head.isupper() and word.lower() not in _SMALL_WORDS:
            return False
    return True


def guess_heading(line: str, *, allow_unnumbered: bool = True) -> Guess | None:
    """Rank ``line`` as a heading, or None when it reads like body text.

    ``allow_unnumbered`` switches off the ALL CAPS and Title Case rules, which need context the
    caller has (a table row of capitalised words looks like a heading on its own).
    """
    line = line.strip()
    if not line or not _short_enough(line) or ends_sentence(line) or _reads_like_prose(line):
        return None
    for pattern, rank in _CHINESE_MARKERS:
        if pattern.match(line):
            return Guess(rank)
    if match := _DECIMAL.match(line):
        if _title_starts_well(match["title"]):
            return Guess(DECIMAL_BASE + match[1].count(".") + 1)
        return None
    if match := _ENGLISH.match(line):
        rest = match["rest"].strip().lstrip("-–:.").strip()
        if rest and not _title_starts_well(rest):
            return None  # "Section 4 of the Act applies" is a sentence about section 4
        kind = match[1].lower()
        return Guess(_ENGLISH_RANK.get(kind, DECIMAL_BASE + match["num"].count(".") + 1))
    if _ROMAN.match(line):
        return Guess(DECIMAL_BASE + 1)
    if not allow_unnumbered:
        return None
    if _is_all_caps(line):
        return Guess(ALL_CAPS_RANK)
    if _is_title_case(line):
        return Guess(None)
    return None


def is_numbered(guess: Guess) -> bool:
    return guess.rank is not None and guess.rank != ALL_CAPS_RANK


def assign_levels(guesses: Sequence[Guess]) -> list[int]:
    """Turn a document's heading ranks, in reading order, into dense levels starting at 1.

    Title Case headings take the level below the last explicit heading and never shift the
    levels of numbered ones, so "1 Intro" / "Background" / "1.1 Scope" gives 1 / 2 / 2.
    """
    explicit = sorted({g.rank for g in guesses if g.rank is not None})
    dense = {rank: level for level, rank in enumerate(explicit, start=1)}
    levels: list[int] = []
    last_level = 0
    for guess in guesses:
        if guess.rank is None:
            levels.append(last_level + 1)
        else:
            last_level = dense[guess.rank]
            levels.append(last_level)
    return levels
