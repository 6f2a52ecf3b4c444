"""What kind of question this is, which details it still lacks, and how to ask for them.

A pack declares intents (``[[intents]]``: a name, plain-words descriptions, regexes) and marks
slots ``required_for`` them. When a question has an intent whose required slot has no value,
the manager asks a clarifying question instead of answering: a dose for an unknown age is a
guess the hospital's protocol does not make. Patterns are regexes matched case-insensitively;
left out on purpose: a classifier model (intent errors here are cheap to see and to fix in the
pack) and intents that depend on earlier turns (a follow-up inherits nothing: "and for
apixaban?" is rewritten into a full question first, and its intent is read from that).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from app.dialog.state import DialogState
from domains.pack import IntentConfig, Pack, SlotConfig

_FLAGS = re.IGNORECASE
_EXAMPLES = re.compile(r",?\s*(?:e\.g\.|for example|such as)|[，,]?\s*(?:例如|比如|如)", _FLAGS)


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
    zh = lang == "zh"
    reasons = _reasons(missing, pack, intents, zh)
    needs = [_label(slot, zh, keep_examples=len(missing) == 1) for slot in missing]
    if zh:
        why = f"要回答{'、'.join(reasons)}的问题，" if reasons else "要回答这个问题，"
        return f"{why}我还需要知道：{'；'.join(needs)}。能告诉我吗？"
    why = f"To answer about {' and '.join(reasons)}, " if reasons else "To answer this, "
    listed = needs[0] if len(needs) == 1 else "; ".join(needs)
    return f"{why}I need to know {listed}. Could you tell me?"


def _reasons(missing: Sequence[SlotConfig], pack: Pack | None, intents: Collection[str],
             zh: bool) -> list[str]:
    """Descriptions of the detected intents that need one of the missing slots."""
    if pack is None:
        return []
    needed = {name for slot in missing for name in slot.required_for}
    chosen: list[IntentConfig] = [i for i in pack.intents
                                  if i.name in intents and i.name in needed]
    return [i.description_for("zh" if zh else "en") for i in chosen]


def _label(slot: SlotConfig, zh: bool, *, keep_examples: bool) -> str:
    text = slot.description_for("zh" if zh else "en")
    if not keep_examples:
        text = _EXAMPLES.split(text, maxsplit=1)[0]
    text = text.strip(" ,，")
    if zh or re.match(r"(?:the|a|an|your|their)\b", text, _FLAGS):
        return text
    return f"the {text}"
