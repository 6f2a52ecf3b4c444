"""English corruptions of a true sentence: one number, unit, qualifier, negation or name changed.

Each function returns None when the sentence offers nothing to change or when every change it
could make might still be true (the new value, unit or name already appears in the passage).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from benchmarks.claims.edits import (
    NUMBER_TEXT,
    Corruption,
    absent,
    changed_number,
    splice,
    window,
)

# A free-standing number: not part of an identifier ("HIV-1", "COVID-19", "CD4"), a range
# ("5-10") or a compound ("5-year").
_NUMBER = re.compile(rf"(?<![\w.\-/])(?:{NUMBER_TEXT})(?![\w\-/]|\.\d)")
_YEAR = re.compile(r"(?<![\w.,\-/$])(?:19|20)\d{2}(?![\w\-/]|,\d)")

_MEDICAL_PERCENT = " mg"
_UNITS: tuple[tuple[str, str], ...] = (
    ("mg", "g"), ("g", "mg"), ("µg", "mg"), ("μg", "mg"), ("mcg", "mg"), ("kg", "g"),
    ("ml", "L"), ("mL", "L"), ("mm", "cm"), ("cm", "mm"), ("km", "m"), ("°C", "°F"),
    ("hours", "days"), ("hour", "day"), ("h", "days"), ("days", "weeks"), ("day", "week"),
    ("weeks", "months"), ("week", "month"), ("months", "years"), ("month", "year"),
    ("years", "months"), ("year", "month"), ("minutes", "hours"), ("min", "hours"),
    ("seconds", "minutes"), ("million", "billion"), ("billion", "million"),
    ("thousand", "million"), ("percent", "million"), ("%", "%"),
)
_UNIT_AFTER = re.compile(
    rf"(?<![\w.\-/])({NUMBER_TEXT})(\s?)("
    + "|".join(re.escape(u) for u, _ in sorted(_UNITS, key=lambda p: -len(p[0])))
    + r")(?![A-Za-z])")
_CURRENCY = re.compile(r"([$€£])(\s?\d)")
_CURRENCY_SWAP = {"$": "€", "€": "$", "£": "$"}
_RATES = (("per hour", "per day"), ("per day", "per week"), ("per week", "per month"),
          ("per month", "per year"), ("per year", "per month"), ("daily", "weekly"),
          ("weekly", "monthly"), ("annually", "monthly"), ("per annum", "per month"),
          ("a day", "a week"), ("/day", "/week"), ("/h", "/day"))

_WORD_QUALIFIERS = (("increase", "decrease"), ("increased", "decreased"),
                    ("increases", "decreases"), ("higher", "lower"), ("more than", "less than"),
                    ("before", "after"), ("maximum", "minimum"), ("adults", "children"),
                    ("men", "women"), ("male", "female"), ("ICU", "ward"),
                    ("inpatients", "outpatients"), ("domestic", "international"),
                    ("positive", "negative"), ("acute", "chronic"), ("first", "second"),
                    ("upper", "lower"), ("prior", "subsequent"), ("gain", "loss"),
                    ("income", "loss"), ("assets", "liabilities"), ("revenue", "expenses"))

_NEGATED = re.compile(
    r"\b(?:(not|never)\s+|(do|does|did|is|are|was|were|ca|wo|has|have|should|would|could)n't\b"
    r"|(cannot)\b|(without)\b|(no)\s+(?!longer|later|more|less|fewer|other|one\b))", re.I)
_UNDO = {"do": "do", "does": "does", "did": "did", "is": "is", "are": "are", "was": "was",
         "were": "were", "ca": "can", "wo": "will", "has": "has", "have": "have",
         "should": "should", "would": "would", "could": "could"}
_AUX = re.compile(r"\b(is|are|was|were|can|could|may|might|should|will|would|shall|must|has|"
                  r"have|had)\s+(?!not\b|n't|to\b|been\s+not)")


def numbers_in(claim: str) -> list[re.Match[str]]:
    return [m for m in _NUMBER.finditer(claim) if not _YEAR.fullmatch(m.group())]


def corrupt_number(claim: str, passage: str, rng: random.Random) -> Corruption | None:
    spots = numbers_in(claim)
    rng.shuffle(spots)
    for m in spots:
        new = changed_number(m.group(), passage, rng)
        if new is None:
            continue
        out = splice(claim, m.start(), m.end(), new)
        if absent(window(out, m.start(), m.start() + len(new), 3), passage):
            return Corruption(out, m.group(), new)
    return None


def _unit_target(unit: str, dataset_medical: bool) -> str:
    if unit == "%":
        return _MEDICAL_PERCENT if dataset_medical else " million"
    return dict(_UNITS)[unit]


def corrupt_unit(claim: str, sentence: str, passage: str, rng: random.Random,
                 medical: bool) -> Corruption | None:
    """Swap the unit a number carries (or a rate, or a currency); the new unit must be foreign
    to the source sentence and the new "number unit" absent from the passage."""
    options: list[tuple[int, int, str, str]] = []
    for m in _UNIT_AFTER.finditer(claim):
        sep, unit = m.group(2), m.group(3)
        target = _unit_target(unit, medical)
        options.append((m.start(2), m.end(3), sep + unit,
                        target if target.startswith(" ") else sep + target))
    for m in _CURRENCY.finditer(claim):
        options.append((m.start(1), m.end(1), m.group(1), _CURRENCY_SWAP[m.group(1)]))
    if _NUMBER.search(claim):
        for old, new in _RATES:
            for m in re.finditer(rf"(?<![\w/]){re.escape(old)}\b", claim):
                options.append((m.start(), m.end(), old, new))
    rng.shuffle(options)
    for start, end, old, new in options:
        out = splice(claim, start, end, new)
        core = new.strip()
        if (absent(core, sentence) and absent(window(out, start, start + len(new), 6), passage)
                and out != claim):
            return Corruption(out, old.strip(), core)
    return None


def corrupt_qualifier(claim: str, sentence: str, passage: str, rng: random.Random
                      ) -> Corruption | None:
    """A year swapped for another year of the passage (or the next or previous one), or a
    qualifier word of a claim that states a number swapped for its opposite."""
    years = list(_YEAR.finditer(claim))
    rng.shuffle(years)
    passage_years = {m.group() for m in _YEAR.finditer(passage)}
    for m in years:
        y = m.group()
        others = sorted(passage_years - {x.group() for x in years})
        candidates = [*others, str(int(y) - 1), str(int(y) + 1)]
        for new in rng.sample(candidates, len(candidates)):
            if new in claim:
                continue
            out = splice(claim, m.start(), m.end(), new)
            if absent(window(out, m.start(), m.start() + len(new), 10), passage):
                return Corruption(out, y, new)
    if not _NUMBER.search(claim):
        return None
    pairs = [*_WORD_QUALIFIERS, *((b, a) for a, b in _WORD_QUALIFIERS)]
    rng.shuffle(pairs)
    for old, new in pairs:
        m = re.search(rf"\b{re.escape(old)}\b", claim)
        if m and absent(new, sentence) and not re.search(rf"\b{re.escape(new)}\b", claim):
            return Corruption(splice(claim, m.start(), m.end(), new), old, new)
    return None


def corrupt_negation(claim: str, sentence: str, passage: str, rng: random.Random
                     ) -> Corruption | None:
    """Remove a negation the claim has, else negate its first auxiliary ("is" -> "is not")."""
    found = list(_NEGATED.finditer(claim))
    if found:
        m = rng.choice(found)
        if m.group(1):
            out, old, new = splice(claim, m.start(), m.end(), ""), m.group(1), ""
        elif m.group(2):
            aux = m.group(2)
            out, old, new = splice(claim, m.start(), m.end(), _UNDO[aux.lower()]), m.group(), aux
        elif m.group(3):
            out, old, new = splice(claim, m.start(), m.end(), "can"), "cannot", "can"
        elif m.group(4):
            out, old, new = splice(claim, m.start(), m.end(), "with"), "without", "with"
        else:
            out, old, new = splice(claim, m.start(), m.end(), "some "), "no", "some"
        if claim[:1].isupper():
            out = out[:1].upper() + out[1:]
        return Corruption(out, old, new) if absent(out, passage) else None
    m = _AUX.search(claim)
    if m is None:
        return None
    out = claim[:m.end(1)] + " not" + claim[m.end(1):]
    if absent(f"{m.group(1)} not", sentence) and absent(out, passage):
        return Corruption(out, m.group(1), f"{m.group(1)} not")
    return None


# Capitalised words that are not names.
_NOT_NAMES = frozenset((
    "i", "the", "this", "that", "these", "those", "in", "on", "at", "for", "to", "of", "and",
    "or", "but", "a", "an", "it", "we", "our", "they", "there", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
_CAP_RUN = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:(?:of|and|de|for|&)\s+)?[A-Z][\w'’\-]*)*")


def shape(entity: str) -> str:
    """The kind of name, judged by its form: an acronym or code, a multi-word name, a word."""
    first = entity.split()[0]
    if sum(c.isupper() for c in first) >= 2 or any(c.isdigit() for c in entity):
        return "code"
    return "multi" if " " in entity else "word"


def entities(claim: str, vocab: frozenset[str] = frozenset()) -> list[tuple[int, int, str]]:
    """Names in a claim: runs of capitalised words (and codes such as "SARS-CoV-2"), except a
    lone word at the start of the sentence or one the corpus also writes in lowercase
    ("Vaccines", "If": capitalised only because a sentence starts there)."""
    out = []
    for m in _CAP_RUN.finditer(claim):
        text = re.sub(r"['’]s$", "", m.group()).rstrip("-")
        words = text.split()
        if not words or all(w.lower() in _NOT_NAMES for w in words):
            continue
        if len(words) == 1 and shape(text) != "code" and (m.start() == 0
                                                          or text.lower() in vocab):
            continue
        if m.start() == 0 and words[0].lower() in _NOT_NAMES:
            continue
        if len(text) >= 2:
            out.append((m.start(), m.start() + len(text), text))
    return out


def corrupt_entity(claim: str, passage: str, pool: Sequence[str], rng: random.Random,
                   vocab: frozenset[str] = frozenset()) -> Corruption | None:
    """Replace a name by one of the same shape from another document (``pool``) that the
    source passage never mentions and that shares no word with the name it replaces."""
    spots = entities(claim, vocab)
    rng.shuffle(spots)
    for _, _, name in spots:
        kind = shape(name)
        old_words = {w.lower() for w in re.findall(r"\w+", name)}
        candidates = [e for e in pool if shape(e) == kind and e != name]
        for new in rng.sample(candidates, min(len(candidates), 40)):
            new_words = {w.lower() for w in re.findall(r"\w+", new)}
            if new_words & old_words or not absent(new, passage) or new.lower() in claim.lower():
                continue
            return Corruption(claim.replace(name, new), name, new)
    return None
