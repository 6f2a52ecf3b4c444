"""What kind of question this is, which details it still lacks, and how to ask for them.

A pack declares intents (``[[intents]]``: a name, plain-words descriptions, regexes) and marks
slots ``required_for`` them. A required slot with no value is a *candidate* for a clarifying
question: the manager searches first and asks only when the passages found give different
answers for different values of it (``app.dialog.conditions``: "5 mg; 2.5 mg if aged 80 or
more" depends on the age, "340 mg for adults" does not and is answered with its condition).
A dose for an unknown age is a guess only where the hospital's protocol makes the dose depend
on the age. Patterns are regexes matched case-insensitively; left out on purpose: a classifier
model (intent errors here are cheap to see and to fix in the pack) and intents that depend on
earlier turns (a follow-up inherits nothing: "and for apixaban?" is rewritten into a full
question first, and its intent is read from that).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from app.dialog.phrases import EXAMPLES, book
from app.dialog.state import DialogState
from domains.pack import IntentConfig, Pack, SlotConfig

_FLAGS = re.IGNORECASE


def detect_intents(text: str, pack: Pack) -> set[str]:
    """Names of the pack's intents that ``text`` matches (any pattern of an intent)."""
    return {intent.name for intent in pack.intents
            if any(re.search(p, text, _FLAGS) for p in intent.patterns)}


def missing_required(state: DialogState, intents: Collection[str],
                     pack: Pack) -> list[SlotConfig]:
    """Slots required for one of ``intents`` that have no value, in the pack's order.

    Call it after the turn's slots were updated: "apixaban dose for an 82-year-old" names the
    age itself and must not be asked for it.
    """
    wanted = set(intents)
    return [slot for slot in pack.slots
            if wanted.intersection(slot.required_for) and slot.name not in state.slots]


def clarifying_question(missing: Sequence[SlotConfig], lang: str, *, pack: Pack | None = None,
                        intents: Collection[str] = ()) -> str:
    """One short question asking for the missing details, in English or Chinese (``lang``).

    With ``pack`` and the detected ``intents`` the question says why it asks ("To answer about
    dosing ..."), naming each detail by the slot's description (Chinese: ``description_zh``,
    falling back to the English one). Examples in a description are kept for a single slot
    ("fiscal year or period, e.g. 2023, FY2022") because they show the expected form.
    """
    if not missing:
        return ""
    language = "zh" if lang == "zh" else "en"
    words = book(language)
    reasons = _reasons(missing, pack, intents, language)
    needs = [slot_label(slot, language, keep_examples=len(missing) == 1) for slot in missing]
    why = (words.CLARIFY_WHY.format(reasons=words.CLARIFY_REASONS_JOIN.join(reasons))
           if reasons else words.CLARIFY_WHY_UNKNOWN)
    return str(words.CLARIFY.format(why=why, needs=words.CLARIFY_NEEDS_JOIN.join(needs)))


def _reasons(missing: Sequence[SlotConfig], pack: Pack | None, intents: Collection[str],
             language: str) -> list[str]:
    """Descriptions of the detected intents that need one of the missing slots."""
    if pack is None:
        return []
    needed = {name for slot in missing for name in slot.required_for}
    chosen: list[IntentConfig] = [i for i in pack.intents
                                  if i.name in intents and i.name in needed]
    return [i.description_for(language) for i in chosen]


def slot_label(slot: SlotConfig, language: str, *, keep_examples: bool = False) -> str:
    """The slot as a sentence names it: "the patient age in years", "患者年龄（岁）"."""
    text = slot.description_for(language)
    if not keep_examples:
        text = EXAMPLES.split(text, maxsplit=1)[0]
    text = text.strip(" ,，")
    words = book(language)
    if not words.DEFINITE_ARTICLE or re.match(words.ARTICLE, text, _FLAGS):
        return text
    return f"{words.DEFINITE_ARTICLE}{text}"
