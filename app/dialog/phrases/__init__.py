"""The dialog's phrasebooks, one per language (``en``, ``zh``), and what is compiled from them.

A message may mix the languages ("is 华法林 the same as warfarin?"), so most rules read both
phrasebooks at once rather than guess a language first; the few things said back to the user
(small talk, clarifying questions) pick one with ``book``. Patterns that need a pack's words
(its entity nouns) are compiled per pack by ``references``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from types import ModuleType

from app.dialog.phrases import en, zh
from domains.pack import values_alternation

__all__ = ["EXAMPLES", "References", "book", "en", "references", "zh"]

# Where a slot description's examples start ("e.g.", "例如"), in either language.
EXAMPLES = re.compile(f"{en.EXAMPLES}|{zh.EXAMPLES}", re.IGNORECASE)
# An empty noun list must match nothing: an empty alternative would make "the" a reference.
_NO_NOUN = "(?!)"


def book(language: str) -> ModuleType:
    """The phrasebook of ``language``: ``zh`` for "zh", else ``en``."""
    return zh if language == "zh" else en


@dataclass(frozen=True)
class References:
    """The patterns that find a reference back to an earlier turn, with a pack's nouns in."""

    en_strong: re.Pattern[str]
    en_weak: re.Pattern[str]
    zh_strong: re.Pattern[str]
    en_replace: re.Pattern[str]
    en_replace_noun: re.Pattern[str]
    zh_replace: re.Pattern[str]
    zh_replace_noun: re.Pattern[str]


@functools.cache
def references(nouns_en: tuple[str, ...], nouns_zh: tuple[str, ...]) -> References:
    """The reference patterns for a pack whose entity nouns are ``nouns_en`` / ``nouns_zh``.

    Nouns go longest first: Chinese has no word boundary to stop "该药" from matching inside
    "该药物" and leaving a stray "物" behind when it is replaced.
    """
    en_ref = en.NOUN_REFERENCE.replace("{nouns}", values_alternation(nouns_en) or _NO_NOUN)
    zh_ref = zh.NOUN_REFERENCE.replace("{nouns}", values_alternation(nouns_zh) or _NO_NOUN)

    def en_pattern(source: str) -> re.Pattern[str]:
        return re.compile(source.replace("{noun_reference}", en_ref), re.IGNORECASE)

    def zh_pattern(source: str) -> re.Pattern[str]:
        return re.compile(source.replace("{noun_reference}", zh_ref))

    return References(
        en_strong=en_pattern(en.STRONG_REFERENCE), en_weak=en_pattern(en.WEAK_REFERENCE),
        zh_strong=zh_pattern(zh.STRONG_REFERENCE), en_replace=en_pattern(en.REPLACEABLE),
        en_replace_noun=en_pattern(en.REPLACEABLE_NOUN), zh_replace=zh_pattern(zh.REPLACEABLE),
        zh_replace_noun=zh_pattern(zh.REPLACEABLE_NOUN))

