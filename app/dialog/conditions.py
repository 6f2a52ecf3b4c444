"""Which conditions on a slot the passages state, and whether the answer depends on the slot.

"What is the maximum daily dose of zorvatinib?" without an age used to get "How old is the
patient?" although the protocol gives one maximum, for adults. The rule now: a required slot
that is missing is asked for only when the passages an answer would rest on state two or more
different conditions on it ("5 mg twice daily ... 2.5 mg if aged 80 years or more" in an adult
protocol: adults and 80+); with one condition the answer is given and the condition said; with
none, the answer is given as is.

A condition is what a slot's ``conditions`` regexes find (for age: age bands and patient
groups); a slot without them is looked for by its ``values`` (cover tiers "Bronze", "Gold").
Conditions are compared normalised, so one band written twice is one condition: "aged 80
years or more", "80 years or over" and "80岁以上" are all ages >= 80, and "adults" is the same
band as "aged 18 and over" when the pack's scope says an adult is an age of at least 18
(``implied_by``). Anything else is compared as folded words ("elderly"). Chinese 以上 includes
the number and 以下 excludes it, as ages are written in protocols ("18岁以下" is a child).

Pure functions of text and pack. Left out on purpose: a condition's effect (which dose goes
with which band; the answer quotes the passages) and units other than years.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.dialog.evidence import has_evidence
from app.dialog.slots import normalise_value, rule_matches
from domains.pack import Pack, RetrievalConfig, SlotConfig, values_alternation
from knowledge.retrieval import RetrievalResult
from knowledge.text.sentences import split_sentences
from knowledge.types import Passage

_FLAGS = re.IGNORECASE
_NUMBER = re.compile(r"\d{1,3}")
_RANGE = re.compile(r"(\d{1,3})\s*(?:-|–|to|and|至|~|～)\s*(\d{1,3})", _FLAGS)
_AT_LEAST = re.compile(r"(?:or|and)\s*(?:over|more|older|above)|at least|≥|>=|以上|年满", _FLAGS)
_AT_MOST = re.compile(r"(?:or|and)\s*(?:under|younger|less|below)|at most|≤|<=", _FLAGS)
_ABOVE = re.compile(r"\b(?:over|above|older than|more than)\b|>|超过|大于", _FLAGS)
_BELOW = re.compile(r"\b(?:under|below|younger than|less than)\b|<|以下|未满|不满|小于|不足",
                    _FLAGS)
# What may stand between a group and its band: "adults (aged 18 and over)", "children, aged".
_JOINER = re.compile(r"[\s,:(（\[-]*")


@dataclass(frozen=True)
class Band:
    """An inclusive range of a numeric slot; ``high`` is infinite for "or more"."""

    low: float
    high: float = math.inf

    def overlaps(self, other: Band) -> bool:
        return self.low <= other.high and other.low <= self.high


@dataclass(frozen=True)
class Condition:
    """One condition as first written, its comparison key, and its band if numeric."""

    key: str
    text: str
    band: Band | None = None


def dependence(missing: Sequence[SlotConfig], texts: Sequence[str], pack: Pack,
               asked: Iterable[str] = ()) -> tuple[list[SlotConfig], dict[str, Condition]]:
    """The missing slots to ask for, and for each other one the single condition ``texts``
    state on it (none when they state none).

    ``texts`` are what an answer would rest on (sentences of its passages and their
    documents' scope statements); ``asked`` the scope values the turn names (a child: the
    adult dose is no reason to ask for the age). A slot the passages cannot show a dependence
    on (``can_tell``) is asked for.
    """
    wanted = list(asked)
    ask: list[SlotConfig] = []
    notes: dict[str, Condition] = {}
    for slot in missing:
        if not can_tell(slot):
            ask.append(slot)
            continue
        stated = distinct(c for text in texts for c in conditions_in(text, slot, pack))
        stated = compatible(stated, asked_bands(slot, pack, wanted))
        if len(stated) >= 2:
            ask.append(slot)
        elif stated:
            notes[slot.name] = stated[0]
    return ask, notes


def can_tell(slot: SlotConfig) -> bool:
    """Whether the passages can show a dependence on ``slot`` (else it is always asked)."""
    return bool(slot.conditions or slot.values)


def conditions_in(text: str, slot: SlotConfig, pack: Pack) -> list[Condition]:
    """Every condition on ``slot`` that ``text`` states, in order, repeats included.

    A group and its band written together ("children aged 6 to 17 years", "成人（18岁及
    以上）") are one condition, the band they share.
    """
    spans: list[tuple[int, int]] = []
    for pattern in _patterns(slot):
        for match in re.finditer(pattern, text, _FLAGS):
            start, end = match.span()
            if match.group().strip() and not any(s < end and start < e for s, e in spans):
                spans.append((start, end))  # not a shorter pattern's match inside another
    found: list[tuple[int, int, Condition]] = []
    for start, end in sorted(spans):
        condition = normalise(text[start:end], slot, pack)
        if found and _JOINER.fullmatch(text[found[-1][1]:start]):
            merged = _merge(found[-1][2], condition, text[found[-1][0]:end])
            if merged is not None:
                found[-1] = (found[-1][0], end, merged)
                continue
        found.append((start, end, condition))
    return [c for _, _, c in found]


def normalise(text: str, slot: SlotConfig, pack: Pack) -> Condition:
    """The comparison key of one written condition (see the module docstring)."""
    written = " ".join(text.split())
    band = _numeric_band(written)
    if band is None:
        band = _named_band(written, slot, pack)
    if band is not None:
        return Condition(_band_key(band), written, band)
    folded = written.casefold()
    value = next((v for v in slot.values if v.casefold() == folded), None)
    if value is not None:
        return Condition(f"value:{value.casefold()}", written)
    return Condition("word:" + re.sub(r"(?<=[a-z])s\b", "", folded), written)


def distinct(conditions: Iterable[Condition]) -> list[Condition]:
    """One condition per key, in order of first mention."""
    seen: dict[str, Condition] = {}
    for condition in conditions:
        seen.setdefault(condition.key, condition)
    return list(seen.values())


def compatible(conditions: Sequence[Condition], bands: Sequence[Band]) -> list[Condition]:
    """The conditions that can hold for a patient in one of ``bands`` (all when none given):
    a question about children is not asked for an age because adults get another dose."""
    if not bands:
        return list(conditions)
    return [c for c in conditions if c.band is None or any(c.band.overlaps(b) for b in bands)]


def asked_bands(slot: SlotConfig, pack: Pack, scope_values: Iterable[str]) -> list[Band]:
    """The bands of ``slot`` that the asked scope values mean (a child: ages below 18)."""
    names = set(scope_values)
    return [_range_band(v.implied_by.below, v.implied_by.at_least)
            for scope in pack.scopes for v in scope.values
            if v.name in names and v.implied_by and v.implied_by.slot == slot.name]


def describe(condition: Condition, slot: SlotConfig, pack: Pack, language: str) -> str:
    """How a sentence names ``condition``: the label of the scope value whose band it is
    ("adults (aged 18 and over)"), else its words as first written ("aged 80 years or more")."""
    for scope in pack.scopes:
        for value in scope.values:
            rule = value.implied_by
            if (rule and rule.slot == slot.name and condition.band is not None
                    and _range_band(rule.below, rule.at_least) == condition.band):
                return value.label_for(language)
    return condition.text


def states(text: str, condition: Condition, slot: SlotConfig, pack: Pack) -> bool:
    """Whether ``text`` (an answer) already names ``condition``, in any of its wordings."""
    return any(c.key == condition.key for c in conditions_in(text, slot, pack))


def sentences(text: str) -> list[str]:
    """Lines, then sentences: a table row or a footnote "(a) ..." is one unit."""
    return [line[a:b] for line in text.splitlines() for a, b in split_sentences(line)]


def entity_values(text: str, pack: Pack) -> dict[str, set[str]]:
    """The values of the pack's entity slots (a drug, a company) that ``text`` names."""
    named: dict[str, set[str]] = {}
    for slot in pack.slots:
        if slot.entity:
            found = {normalise_value(m.group(1), slot).casefold()
                     for m in rule_matches(slot, text)}
            if found:
                named[slot.name] = found
    return named


def about_another(unit: str, asked: Mapping[str, set[str]], pack: Pack) -> bool:
    """Whether ``unit`` is about another entity than the one asked about: "(a) Apixaban:
    reduce ... if aged 80 or more" states no condition on a rivaroxaban dose."""
    named = entity_values(unit, pack)
    return any(named.get(name) and not named[name] & values for name, values in asked.items())


def relevant_passages(found: RetrievalResult, cfg: RetrievalConfig, lang: str) -> list[Passage]:
    """The passages an answer would rest on: every retrieved passage of the documents whose
    passages cover the question best among those passing the evidence test.

    The same document's other passages count (the footnote "(a) reduce to 2.5 mg if aged 80
    or more" under a dose table); another document's generic dosing passage, which covers
    fewer of the question's terms, does not.
    """
    supporting = [p for p in found.passages
                  if has_evidence(RetrievalResult(found.query, [p], found.dense, found.lexical,
                                                  found.unknown_terms), cfg, lang)]
    if not supporting:
        return []
    best = max(found.lexical.get(p.chunk_id, 0.0) for p in supporting)
    docs = {p.doc_id for p in supporting if found.lexical.get(p.chunk_id, 0.0) >= best}
    return [p for p in found.passages if p.doc_id in docs]


# --- helpers --------------------------------------------------------------------------------


def _patterns(slot: SlotConfig) -> list[str]:
    if slot.conditions:
        return list(slot.conditions)
    if slot.values:
        return [rf"(?<!\w)(?:{values_alternation(slot.values)})(?!\w)"]
    return []


def _merge(first: Condition, second: Condition, text: str) -> Condition | None:
    """A group and its band side by side as one condition, their intersection; None for
    anything else (two bands in a row are two conditions: "over 75; 80 or more")."""
    a, b = first.band, second.band
    named = [not _NUMBER.search(x.text) for x in (first, second)]
    if a is None or b is None or not a.overlaps(b) or named[0] == named[1]:
        return None
    band = Band(max(a.low, b.low), min(a.high, b.high))
    return Condition(_band_key(band), " ".join(text.split()), band)


def _numeric_band(text: str) -> Band | None:
    numbers = [float(n) for n in _NUMBER.findall(text)]
    if not numbers:
        return None
    both = _RANGE.search(text)
    if both:
        low, high = sorted((float(both.group(1)), float(both.group(2))))
        return Band(low, high)
    number = numbers[0]
    if _AT_LEAST.search(text):
        return Band(number)
    if _AT_MOST.search(text):
        return Band(0, number)
    if _ABOVE.search(text):
        return Band(number + 1)
    if _BELOW.search(text):
        return Band(0, number - 1)
    return Band(number, number)


def _named_band(text: str, slot: SlotConfig, pack: Pack) -> Band | None:
    """The band a scope value implies when ``text`` is one of its words ("adults")."""
    for scope in pack.scopes:
        for value in scope.values:
            rule = value.implied_by
            if rule is None or rule.slot != slot.name:
                continue
            if any(re.fullmatch(p, text, _FLAGS) for p in value.patterns):
                return _range_band(rule.below, rule.at_least)
    return None


def _range_band(below: float | None, at_least: float | None) -> Band:
    return Band(at_least or 0, math.inf if below is None else below - 1)


def _band_key(band: Band) -> str:
    high = "" if math.isinf(band.high) else f"{band.high:g}"
    return f"band:{band.low:g}-{high}"
