"""Slot values from a user's message: pack patterns first, then (optionally) a model.

Order of trust. A pack pattern is precise, so its match is taken as is (how="rule"). When the
user answers a clarifying question ("82") or corrects a slot that already has a value ("no,
she is 45"), the pattern's context words are missing, so for just those slots the values the
pack lists and its ``value_patterns`` (``\\d{1,3}`` for age) are looked for alone; the pack
refuses a value pattern that matches any word. Last, and only for slots still empty, a model
may propose values; a proposal is accepted only if it occurs literally in the user's text, so
a small model's invented value ("apixaban" when the user wrote "that blood thinner") never
enters the state.

Corrections ("no", "actually", "I meant", "不是", "我是说") mark values how="user", and a value
the user negates in the same message ("I meant apixaban, not warfarin", "不是30岁") is dropped.
Clearing ("forget the age", "clear the company", "不考虑年龄") names a slot by its name, a
distinctive word of its description (en or zh; words shared by two slots, like "patient", name
neither), or its current value. Patterns match case-insensitively: users do not capitalise
"Warfarin" the way the pack author did; a value equal to one of the slot's ``values`` takes
the pack's spelling ("nda" -> "NDA", "Female" -> "female"). The words of corrections, negations
and clear commands are in the phrasebooks (``app.dialog.phrases``).

Left out on purpose: relative values ("the year before"), arithmetic on ages, and more than one
value per slot across turns (the newest message wins, see ``state``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from app.dialog.phrases import EXAMPLES, en, zh
from app.dialog.state import DialogState, How, SlotValue
from domains.pack import SlotConfig, values_alternation
from knowledge.text.cjk import has_han
from knowledge.text.tokenize import key_terms

ModelFallback = Callable[[str, list[SlotConfig]], dict[str, str]]

_FLAGS = re.IGNORECASE
_CORRECTION_EN = re.compile(en.CORRECTION, _FLAGS)
_CORRECTION_ZH = re.compile(zh.CORRECTION)
# Negation right before a value: in a correction that value is the wrong one being replaced.
_NEGATED = re.compile(rf"(?:{en.NEGATION}|{zh.NEGATION})\s*(?:{en.AFTER_NEGATION})?$", _FLAGS)
_CLEAR_EN = re.compile(en.CLEAR_COMMAND, _FLAGS)
_CLEAR_ZH = re.compile(zh.CLEAR_COMMAND)
_CLEAR_ALL = re.compile(rf"\W*(?:{en.EVERYTHING}|{zh.EVERYTHING})\W*", _FLAGS)
_ASCII_ALNUM = "A-Za-z0-9"


@dataclass(frozen=True)
class SlotUpdate:
    """What one message changed, for the manager's log and the UI's detail panel."""

    updated: dict[str, SlotValue] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)
    correction: bool = False
    previous: dict[str, SlotValue] = field(default_factory=dict)
    """The values this message replaced or cleared: the rewriter swaps them out of the last
    query ("no, she is 45" turns "... 82 ..." into "... 45 ...")."""

    def describe(self) -> str:
        parts = [f"{name} = {v.value!r} ({v.how})" for name, v in self.updated.items()]
        parts += [f"cleared {name}" for name in self.cleared]
        return "; ".join(parts) or "no slot changed"


def is_correction(text: str) -> bool:
    """Whether the message is phrased as a correction of something said before."""
    return bool(_CORRECTION_EN.search(text) or _CORRECTION_ZH.search(text))


def normalise_value(value: str, slot: SlotConfig | None = None) -> str:
    """Trim, collapse spaces and drop wrapping punctuation; take the pack's spelling if any.

    The user's casing is kept for free-form values (names: "Northbridge Bank"); a value equal
    to one of the slot's ``values`` (an enumeration like sex, or a drug list) becomes that
    value, so "Female" and "female" are one value.
    """
    cleaned = " ".join(value.split()).strip(" \t\"'`“”‘’.,;:!?，。；：！？、（）()")
    if slot is not None:
        folded = cleaned.casefold()
        cleaned = next((v for v in slot.values if v.casefold() == folded), cleaned)
    return cleaned


def extract_slots(text: str, pack_slots: Sequence[SlotConfig], turn: int, *,
                  model_fallback: ModelFallback | None = None,
                  expecting: Collection[str] = (),
                  current: Collection[str] = ()) -> dict[str, SlotValue]:
    """Slot values stated in ``text`` (one user message), keyed by slot name.

    ``expecting`` names slots a clarifying question just asked for, ``current`` the slots that
    already have a value: for those, the pattern's value part alone is tried (see the module
    docstring). ``model_fallback(text, missed_slots)`` is called at most once, only with the
    slots nothing else filled; its errors propagate (the caller decides whether a broken model
    should stop the turn). Several values for one slot in one message are joined with ", ".
    """
    correction = is_correction(text)
    how: How = "user" if correction else "rule"
    found: dict[str, SlotValue] = {}
    for slot in pack_slots:
        values = _rule_values(slot, text, drop_negated=correction)
        if values:
            found[slot.name] = SlotValue(", ".join(values), turn, how)
    loose_for = set(expecting) | (set(current) if correction else set())
    loose = _loose_values([s for s in pack_slots if s.name in loose_for and s.name not in found],
                          text)
    for name, values in loose.items():
        found[name] = SlotValue(", ".join(values), turn, "user")
    missed = [s for s in pack_slots if s.name not in found]
    if model_fallback is not None and missed:
        proposals = model_fallback(text, list(missed))
        by_name = {s.name: s for s in missed}
        for name, raw in (proposals or {}).items():
            slot = by_name.get(name)
            if slot is None or not isinstance(raw, str):
                continue
            value = _literal_value(raw, slot, text, drop_negated=correction)
            if value:
                found[name] = SlotValue(value, turn, "user" if correction else "model")
    return found


def slots_to_clear(text: str, pack_slots: Sequence[SlotConfig],
                   current: Mapping[str, SlotValue] | None = None) -> list[str]:
    """Names of the slots the message asks to forget, in pack order.

    A command that names no slot ("forget it") clears nothing; "forget everything" / "全部清除"
    clears every slot that has a value.
    """
    current = current or {}
    refs = [m.group("ref") or m.group("ref2") or "" for m in _CLEAR_EN.finditer(text)]
    refs += [f"{m.group('pre')} {m.group('ref')}" for m in _CLEAR_ZH.finditer(text)]
    names: set[str] = set()
    words = _distinctive_words(tuple((s.name, s.description, s.description_zh)
                                     for s in pack_slots))
    for ref in refs:
        if _CLEAR_ALL.fullmatch(ref):
            names.update(current)
            continue
        folded = ref.casefold()
        ref_terms = {_singular(t) for t in key_terms(ref)}
        for slot in pack_slots:
            held = current.get(slot.name)
            by_value = held is not None and any(
                _contains_word(ref, v) for v in held.value.split(", ") if v)
            if by_value or any(_word_in(w, ref_terms, folded) for w in words[slot.name]):
                names.add(slot.name)
    return [s.name for s in pack_slots if s.name in names]


def update_slots(state: DialogState, text: str, pack_slots: Sequence[SlotConfig], *,
                 model_fallback: ModelFallback | None = None) -> SlotUpdate:
    """Apply one user message to ``state`` (in place) and say what changed.

    Clears first, then sets, and a slot cleared by this message is not set again from it
    ("forget the age" never reads a number as the new age). ``state.awaiting`` is consumed: the
    message was the user's chance to answer the clarifying question; if the slot is still
    missing the manager asks again and sets ``awaiting`` anew.
    """
    turn = state.next_index
    cleared = slots_to_clear(text, pack_slots, state.slots)
    found = extract_slots(text, pack_slots, turn, model_fallback=model_fallback,
                          expecting=state.awaiting, current=list(state.slots))
    for name in cleared:
        found.pop(name, None)
    previous = {name: state.slots[name] for name in [*cleared, *found] if name in state.slots}
    for name in cleared:
        state.clear_slot(name)
    for name, value in found.items():
        state.set_slot(name, value)
    state.awaiting = []
    return SlotUpdate(updated=found, cleared=cleared, correction=is_correction(text),
                      previous=previous)


def strip_clear_commands(text: str) -> str:
    """``text`` without its clear commands: what is left is the message's real question."""
    text = _CLEAR_EN.sub(" ", text)
    text = _CLEAR_ZH.sub(" ", text)
    return " ".join(text.split()).strip(" ,，;；.。!！")


# --- patterns -------------------------------------------------------------------------------


def rule_matches(slot: SlotConfig, text: str) -> Iterable[re.Match[str]]:
    """Every match of the slot's patterns in ``text`` that captured a value."""
    for pattern in slot.patterns:
        for match in re.finditer(pattern, text, _FLAGS):
            if match.lastindex and match.group(1):
                yield match


def _rule_values(slot: SlotConfig, text: str, *, drop_negated: bool) -> list[str]:
    values: dict[str, str] = {}
    for match in rule_matches(slot, text):
        if drop_negated and _NEGATED.search(text[: match.start(1)]):
            continue
        value = normalise_value(match.group(1), slot)
        if value:
            values.setdefault(value.casefold(), value)
    return list(values.values())


def _alone(slot: SlotConfig) -> list[str]:
    """Regexes for the slot's value written alone: its listed values, then its value patterns."""
    listed = [values_alternation(slot.values)] if slot.values else []
    return [*listed, *slot.value_patterns]


def _loose_values(slots: Sequence[SlotConfig], text: str) -> dict[str, list[str]]:
    """``slots``' values written alone in ``text``; a span two slots claim goes to none."""
    hits: list[tuple[str, int, int, str]] = []
    for slot in slots:
        for pattern in _alone(slot):
            bounded = f"(?<![{_ASCII_ALNUM}])(?:{pattern})(?![{_ASCII_ALNUM}])"
            for m in re.finditer(bounded, text, _FLAGS):
                if not _NEGATED.search(text[: m.start()]):
                    hits.append((slot.name, m.start(), m.end(), normalise_value(m.group(), slot)))
    values: dict[str, list[str]] = {}
    for name, start, end, value in hits:
        contested = any(other != name and s < end and start < e for other, s, e, _ in hits)
        if value and not contested and value not in values.get(name, []):
            values.setdefault(name, []).append(value)
    return values


def _literal_value(raw: str, slot: SlotConfig, text: str, *, drop_negated: bool) -> str | None:
    """The model's value if the user literally wrote it (ignoring case and spacing), else None."""
    value = normalise_value(raw)
    if not value or not any(ch.isalnum() for ch in value):
        return None
    text = unicodedata.normalize("NFKC", text)
    words = unicodedata.normalize("NFKC", value).split()
    # Whole words only: a "45" inside "2045" is not something the user said.
    literal = r"\s+".join(re.escape(w) for w in words)
    found = re.search(rf"(?<![{_ASCII_ALNUM}]){literal}(?![{_ASCII_ALNUM}])", text, _FLAGS)
    if found is None:
        return None
    if drop_negated and _NEGATED.search(text[: found.start()]):
        return None
    # The user's own spelling, not the model's: "clopidogrel" stays as the user typed it.
    return normalise_value(found.group(), slot)


# --- naming a slot in a clear command ---------------------------------------------------------


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _slot_words(name: str, descriptions: tuple[str, ...]) -> set[str]:
    """The slot's name words and its descriptions' words before any examples."""
    words = {_singular(w) for w in name.split("_")}
    for description in descriptions:
        head = EXAMPLES.split(description, maxsplit=1)[0]
        words.update(_singular(t) for t in key_terms(head))
    return words


@functools.cache
def _distinctive_words(slots: tuple[tuple[str, str, str], ...]) -> dict[str, frozenset[str]]:
    """Each slot's words that no other slot of the pack shares ("patient" names neither).

    ``slots`` is (name, description, description_zh) per slot: hashable, so this is cached.
    """
    words = {name: _slot_words(name, (en, zh)) for name, en, zh in slots}
    result: dict[str, frozenset[str]] = {}
    for name, own in words.items():
        others = set().union(*(w for n, w in words.items() if n != name))
        result[name] = frozenset(own - others)
    return result


def _contains_word(text: str, value: str) -> bool:
    """``value`` in ``text`` as a whole word: a held "AF" is not found in "after"."""
    bounded = rf"(?<![{_ASCII_ALNUM}]){re.escape(value)}(?![{_ASCII_ALNUM}])"
    return re.search(bounded, text, _FLAGS) is not None


def _word_in(word: str, ref_terms: set[str], folded_ref: str) -> bool:
    # Chinese words are matched as substrings: jieba may cut "不考虑年龄" differently.
    if has_han(word):
        return word in folded_ref
    return word in ref_terms
