"""Claim-level support: a sentence of an answer stands only when ONE passage sentence (or one
table row) says it.

Lexical overlap with a whole passage is easy to fool: "4 hours" passes when the passage says
"chlorhexidine 4%", and "40 mmol per hour on general wards" passes when one sentence gives 10
on wards and 40 in intensive care. So each claim is compared with evidence units — the
sentences of a passage, or the rows of a table passage — and one unit must carry all of it:

- every number, with its unit, magnitude and rate (``app.dialog.quantities``); a year only
  with the same year;
- every content word (drugs, companies, parties, clauses), in the unit or its headings; a word
  the question already used may also come from the document's name;
- qualifiers bound to the right number: a word or year that the unit ties to a number the
  claim does not use ("general wards" next to 10, not 40; "2022" over another column) fails;
- negation, word by word: what the claim negates the unit negates, and a negation in the
  clauses holding the claim's words is kept by the claim.

Never kept, whatever the passages say: fragments ("4. **Monitoring of", "APPROVED."), Markdown
residue is stripped first, questions and echoes of the user's question, and repeats of a
sentence already kept. Each verdict names the supporting unit, so a reader can see it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.dialog.claim_text import (
    DANGLING_IF_CUT,
    LATIN_WORD,
    clean_claim,
    fold,
    is_fragment,
    split_markers,
    terms,
    words,
)
from app.dialog.negation import negated_words, negations
from app.dialog.quantities import Quantity, agrees, quantities
from app.dialog.tables import table_rows
from knowledge.text.cjk import CJK_CHARS, has_han
from knowledge.text.sentences import split_sentences
from knowledge.text.tokenize import cjk_word_bounds, stem
from knowledge.types import Passage

REASONS = ("fragment", "question", "echo", "repeated", "unsupported", "number", "negation",
           "qualifier", "term")

# Clause separators, in text folded by NFKC (a Chinese "，" is "," there).
_SEGMENT = re.compile(
    r"[;；，、]|,(?!\d)|\s(?:and|but|while|whilst|whereas|or|versus|vs\.?)\s|而|但")
SAME_CLAIM = 0.8
# Words that bound an amount rather than name what it is for.
_BOUND_WORDS = frozenset(("up", "least", "most", "maximum", "minimum", "max", "min", "approx",
                          "approximately", "about", "around", "total", "超过", "不超过",
                          "至少", "最多", "最高", "最低", "约", "大约", "低于", "高于"))


@dataclass(frozen=True)
class ClaimCheck:
    """The verdict on one claim.

    ``kept``: the claim may be shown. ``text``: the claim as shown (citation markers and
    Markdown residue removed). ``citations``: the passage numbers (1-based) it is shown with —
    the cited passage when that one supports it, else the one passage that does
    (``attributed``). ``evidence``: the supporting passage sentence or table row. ``reason``:
    why it was removed, one of ``REASONS`` ("" when kept).
    """

    text: str
    kept: bool
    reason: str = ""
    citations: tuple[int, ...] = ()
    evidence: str = ""
    attributed: bool = False


@dataclass(frozen=True)
class _Unit:
    """One passage sentence or table row, ready to compare claims with."""

    text: str
    folded: str
    stems: frozenset[str]
    quantities: tuple[Quantity, ...]
    segments: tuple[tuple[int, int], ...]


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in LATIN_WORD.findall(fold(text)))


def _make_unit(text: str) -> _Unit:
    folded = fold(text)
    found = tuple(quantities(folded))
    return _Unit(text, folded, _stems(text), found, _clauses(folded, found))


def _clauses(folded: str, found: Sequence[Quantity]) -> tuple[tuple[int, int], ...]:
    """The unit cut at clause separators, each clause holding at least one amount.

    A piece without an amount joins the next one ("on general wards, | the maximum is 10")
    — or the previous one when it is last ("..., with food") — so a qualifier stays with the
    amount it qualifies.
    """
    cuts = [0, *(m.end() for m in _SEGMENT.finditer(folded)), len(folded)]
    pieces = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    starts = [q.start for q in found if q.is_measure]
    merged: list[tuple[int, int]] = []
    pending = None
    for a, b in pieces:
        a = pending if pending is not None else a
        if any(a <= s < b for s in starts):
            merged.append((a, b))
            pending = None
        else:
            pending = a
    if pending is not None:
        if merged:
            merged[-1] = (merged[-1][0], len(folded))
        else:
            merged.append((pending, len(folded)))
    return tuple(merged) or ((0, len(folded)),)


@functools.lru_cache(maxsize=512)
def _units(text: str) -> tuple[_Unit, ...]:
    rows = table_rows(text)
    pieces = rows if rows is not None else [text[a:b] for a, b in split_sentences(text)]
    return tuple(_make_unit(" ".join(p.split())) for p in pieces if p.strip())


@functools.lru_cache(maxsize=512)
def _context(doc_name: str, headings: tuple[str, ...]) -> tuple[str, frozenset[str]]:
    text = fold(" ".join([*headings, re.sub(r"[-_.]", " ", doc_name)]))
    return text, _stems(text)


def _found(term: str, folded: str, stems: frozenset[str]) -> bool:
    return term in folded if has_han(term) else term in stems


@dataclass(frozen=True)
class _Claim:
    text: str
    terms: tuple[str, ...]
    quantities: tuple[Quantity, ...]
    words: tuple[str, ...] = ()
    """The terms without Chinese bigrams: what locates the claim inside a long sentence."""


def _verdict(claim: _Claim, unit: _Unit, passage: Passage,
             question_terms: frozenset[str]) -> tuple[str, float]:
    """("" if the unit supports the claim, else the reason) and how close it came (0..1)."""
    heading_text, heading_stems = _context("", passage.heading_path)
    name_text, name_stems = _context(passage.doc_name, ())
    missing = []
    for term in claim.terms:
        if _found(term, unit.folded, unit.stems) or _found(term, heading_text, heading_stems):
            continue
        if term in question_terms and _found(term, name_text, name_stems):
            continue
        missing.append(term)
    closeness = 1 - len(missing) / max(1, len(claim.terms))
    unit_years = [q for q in unit.quantities if q.is_year]
    heading_years = [] if unit_years else quantities(heading_text)
    for q in claim.quantities:
        pool = unit.quantities if not q.is_year else (*unit_years, *heading_years)
        if not any(agrees(q, s) for s in pool):
            return ("qualifier" if q.is_year else "number"), closeness
    if missing:
        return "term", closeness
    if not claim.terms and not any(not q.is_year for q in claim.quantities):
        return "unsupported", 0.0
    if _cut_mid_word(claim, unit):
        return "fragment", closeness
    if _bound_elsewhere(claim, unit):
        return "qualifier", closeness
    if _negation_differs(claim, unit):
        return "negation", closeness
    return "", 1.0


def _cut_mid_word(claim: _Claim, unit: _Unit) -> bool:
    """A claim the unit goes on past: a Chinese claim whose last characters stand in the unit
    only inside a word, an English one that ends on "to"/"with"/... where the unit's
    sentence continues after those words."""
    body = fold(claim.text).rstrip(" .。!！;；,，")
    last = LATIN_WORD.findall(body[-40:])
    if last and body.endswith(last[-1]) and last[-1] in DANGLING_IF_CUT:
        tail = r"\W+".join(re.escape(w) for w in last[-3:])
        return re.search(rf"\b{tail}\s+[^\W_]", unit.folded) is not None
    tail = re.search(f"[{CJK_CHARS}]{{1,4}}$", body)
    if tail is None:
        return False
    ends = [m.end() for m in re.finditer(re.escape(tail.group()), unit.folded)]
    if not ends:
        return False
    bounds = _bounds(unit.folded)
    return all(e not in bounds for e in ends)


@functools.lru_cache(maxsize=512)
def _bounds(folded: str) -> frozenset[int]:
    return cjk_word_bounds(folded)


def _segment_of(unit: _Unit, pos: int) -> int:
    last = len(unit.segments) - 1
    return next((i for i, (a, b) in enumerate(unit.segments) if a <= pos < b), last)


def _positions(term: str, unit: _Unit) -> list[int]:
    if has_han(term):
        return [m.start() for m in re.finditer(re.escape(term), unit.folded)]
    return [m.start() for m in LATIN_WORD.finditer(unit.folded) if stem(m.group()) == term]


def _bound_elsewhere(claim: _Claim, unit: _Unit) -> bool:
    """A claim word or year that the unit ties only to numbers the claim does not state.

    Clauses are cut at ; , and "and/while/whereas" (table cells at "; "). Text before the
    unit's first amount is the shared subject ("Potassium may be given at up to ..."), and so
    is an earlier clause's wording when the claim names its own clause's qualifier; a year
    is never shared.
    """
    amounts = [q for q in claim.quantities if q.is_measure]
    if not amounts:
        return False
    owned: dict[int, bool] = {}
    for q in unit.quantities:
        if q.is_measure:
            seg = _segment_of(unit, q.start)
            owned[seg] = owned.get(seg, False) or any(agrees(c, q) for c in amounts)
    if len(owned) < 2:
        return False
    foreign = {seg for seg, mine in owned.items() if not mine}
    first = min(q.start for q in unit.quantities if q.is_measure)
    first_seg = _segment_of(unit, first)
    if any(_qualifier_first(unit, seg) for seg in owned if seg != first_seg):
        first = 0  # "on wards, 10 ...; in ICU, 40": the text before 10 is 10's, not shared
    content = [t for t in claim.words if t not in _BOUND_WORDS]
    mine = {seg for seg, own in owned.items() if own}
    # A claim that names its own clause's qualifier ("in intensive care ... 40") may take its
    # subject from an earlier clause; one that names none borrows the other clause's.
    qualified = any((spots := _positions(t, unit)) and all(
        _segment_of(unit, p) in mine for p in spots) for t in content)
    words = [*(() if qualified else content),
             *(f"{int(q.raw)}" for q in claim.quantities if q.is_year)]
    for word in words:
        year = word.isdigit()
        spots = [q.start for q in unit.quantities if q.is_year and f"{int(q.raw)}" == word
                 ] if year else _positions(word, unit)
        # a year is never the shared subject: "2019: (1.8); 2018: 3.6" ties 2019 to 1.8
        if spots and all((year or p >= first) and _segment_of(unit, p) in foreign
                         for p in spots):
            return True
    return False


def _qualifier_first(unit: _Unit, seg: int) -> bool:
    """Whether clause ``seg`` names what its amount is for before the amount ("重症监护室
    不超过40", "in intensive care, 40"), so the first clause's opening words are its own too."""
    a, b = unit.segments[seg]
    amount = next(q.start for q in unit.quantities if a <= q.start < b and q.is_measure)
    return any(t not in _BOUND_WORDS for t in terms(unit.folded[a:amount]))


def _negation_differs(claim: _Claim, unit: _Unit) -> bool:
    """A negation of the claim the unit does not make, or one of the unit's the claim drops.

    Each claim negation must apply to a word the unit also negates. Each negation in the
    part of the unit that holds the claim's words (the shortest run of clauses) whose
    negated word the claim uses must be negated in the claim too; a negation elsewhere in
    the sentence ("do not give X to children; give X to adults") does not count.
    """
    unit_negated = negated_words(unit.folded)
    if any(scope and not set(scope) & unit_negated for scope in negations(claim.text)):
        return True
    claim_negated = negated_words(claim.text)
    claim_words = {stem(w) for w in LATIN_WORD.findall(fold(claim.text))}
    folded = fold(claim.text)
    for scope in negations(_claim_span(claim, unit)):
        if not scope:
            continue
        # the word the unit negates first; in Chinese the whole negated run must recur
        head = "".join(dict.fromkeys(scope)) if has_han(scope[0]) else scope[0]
        used = head in folded if has_han(head) else head in claim_words
        if used and not set(scope) & claim_negated:
            return True
    return False


def _claim_span(claim: _Claim, unit: _Unit) -> str:
    """The shortest run of the unit's clauses that holds every claim word the unit holds."""
    segs = unit.segments
    present = [t for t in claim.words if _positions(t, unit)]
    if not present or len(segs) == 1:
        return unit.folded
    holds = [{t for t in present if any(a <= p < b for p in _positions(t, unit))}
             for a, b in segs]
    best = (0, len(segs) - 1)
    for i in range(len(segs)):
        covered: set[str] = set()
        for j in range(i, len(segs)):
            covered |= holds[j]
            if len(covered) == len(set(present)):
                if j - i < best[1] - best[0]:
                    best = (i, j)
                break
    return unit.folded[segs[best[0]][0]: segs[best[1]][1]]


def _same(a: _Claim, b: _Claim) -> bool:
    if fold(a.text) == fold(b.text):
        return True
    ta, tb = set(a.terms), set(b.terms)
    if not ta or not tb:
        return False
    same_numbers = {q.value for q in a.quantities} == {q.value for q in b.quantities}
    return same_numbers and len(ta & tb) / len(ta | tb) >= SAME_CLAIM


def _claim(text: str) -> _Claim:
    content = tuple(terms(text))
    located = set(words(text))
    return _Claim(text, content, tuple(quantities(text)), tuple(t for t in content
                                                                  if t in located))


def check_claim(claim: str, passages: Sequence[Passage], *, cited: Sequence[int] = (),
                question: str = "", earlier: Sequence[str] = ()) -> ClaimCheck:
    """Check one answer sentence against the passages it may cite.

    ``cited`` are the [n] the writer gave it (tried first); ``question`` the user's question
    (a claim that only restates it is an echo); ``earlier`` the sentences already kept (a
    repeat is dropped).
    """
    text = clean_claim(split_markers(claim)[0])
    if text.rstrip().endswith(("?", "？")):
        return ClaimCheck(text, False, "question")
    if not text or is_fragment(text):
        return ClaimCheck(text, False, "fragment")
    info = _claim(text)
    asked = _claim(question) if question else None
    if asked is not None and set(info.terms) <= set(asked.terms) and all(
            any(agrees(q, a) for a in asked.quantities) for q in info.quantities):
        return ClaimCheck(text, False, "echo")
    if any(_same(info, _claim(clean_claim(split_markers(e)[0]))) for e in earlier):
        return ClaimCheck(text, False, "repeated")
    question_terms = frozenset(asked.terms) if asked else frozenset()
    valid = [n for n in dict.fromkeys(cited) if 1 <= n <= len(passages)]
    order = [*valid, *(n for n in range(1, len(passages) + 1) if n not in valid)]
    worst = ("unsupported", -1.0)
    for n in order:
        for unit in _units(passages[n - 1].text):
            reason, closeness = _verdict(info, unit, passages[n - 1], question_terms)
            if not reason:
                return ClaimCheck(text, True, "", (n,), unit.text, attributed=n not in valid)
            if closeness > worst[1]:
                worst = (reason, closeness)
    return ClaimCheck(text, False, worst[0])
