"""What English and Chinese corruptions share: the result record, number rewriting, and the
checks that a change is real.

A corruption only counts when the changed claim is false for certain; a "changed" number that
the passage happens to contain elsewhere might make a true claim, and a checker that keeps it
would be blamed for nothing. So every substitution is tested against the passage text.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# A number as written in prose or a table cell: thousands groups and decimals stay whole.
NUMBER_TEXT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_ANY_NUMBER = re.compile(NUMBER_TEXT)
_LATIN_WORD = re.compile(r"[a-z0-9]{2,}")


@dataclass(frozen=True)
class Corruption:
    """The corrupted claim, the text it replaced and what replaced it."""

    claim: str
    old: str
    new: str


def number_values(text: str) -> set[float]:
    """Every number the text writes, as a value ("1,000" and "1000" are the same)."""
    out = set()
    for raw in _ANY_NUMBER.findall(text):
        try:
            out.add(float(raw.replace(",", "")))
        except ValueError:
            continue
    return out


def _format_like(value: float, template: str) -> str:
    decimals = len(template.split(".", 1)[1]) if "." in template else 0
    if "," in template:
        return f"{value:,.{decimals}f}"
    return f"{value:.{decimals}f}"


def changed_number(token: str, passage: str, rng: random.Random) -> str | None:
    """A plausible wrong value for ``token``: its last digit moved, ten times it, or a nearby
    value, written the same way and written nowhere in the passage."""
    value = float(token.replace(",", ""))
    decimals = len(token.split(".", 1)[1]) if "." in token else 0
    step = 10.0 ** -decimals
    small = [value + k * step for k in (1, -1, 2, -2, 3)]
    scaled = [value * 10, *([value / 10] if decimals or value % 10 == 0 else [])]
    near = [value * f for f in (1.5, 0.8, 1.25, 2.0)]
    pools = [small, scaled, near]
    rng.shuffle(pools)
    taken = number_values(passage)
    for pool in pools:
        for candidate in rng.sample(pool, len(pool)):
            if candidate <= 0:
                continue
            text = _format_like(candidate, token)
            new_value = float(text.replace(",", ""))
            if text != token and 0 < new_value != value and new_value not in taken:
                return text
    return None


def window(text: str, start: int, end: int, reach: int = 12) -> str:
    """The changed text with a little context either side, to look for in the passage."""
    return text[max(0, start - reach):min(len(text), end + reach)]


def splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def absent(needle: str, *haystacks: str) -> bool:
    """``needle`` occurs in none of the texts (case and spacing ignored)."""
    n = " ".join(needle.lower().split())
    return all(n not in " ".join(h.lower().split()) for h in haystacks)


def split_lead_in(text: str, lead_ins: tuple[str, ...]) -> tuple[str, str]:
    """A paraphrase's lead-in ("According to the documents, ") and the claim after it: a
    corruption must change the claim, not the lead-in."""
    for lead in lead_ins:
        if text.lower().startswith(lead.lower()):
            return text[:len(lead)], text[len(lead):]
    return "", text


def overlap_tokens(text: str) -> frozenset[str]:
    """Latin words and Han character bigrams: enough to compare texts' vocabulary, without
    loading a segmenter."""
    lowered = text.lower()
    han = "".join(ch if "\u4e00" <= ch <= "\u9fff" else " " for ch in lowered).split()
    bigrams = {run[i:i + 2] for run in han for i in range(len(run) - 1)}
    singles = {run for run in han if len(run) == 1}
    return frozenset(_LATIN_WORD.findall(lowered)) | bigrams | singles


def normalised(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())
