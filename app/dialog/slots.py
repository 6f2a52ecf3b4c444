"""Slot values from a user's message: pack patterns first, then (optionally) a model.

Order of trust. A pack pattern is precise, so its match is taken as is (how="rule"). When the
user answers a clarifying question ("82") or corrects a slot that already has a value ("no,
she is 45"), the pattern's context words are missing, so the pattern's value part alone (group
1, e.g. ``\\d{1,3}`` for age) is tried for just those slots, and only where it is specific: a
group like ``\\w+`` would take any word, so it never runs alone. Last, and only for slots still
empty, a model may propose values; a proposal is accepted only if it occurs literally in the
user's text, so a small model's invented value ("apixaban" when the user wrote "that blood
thinner") never enters the state.

Corrections ("no", "actually", "I meant", "不是", "我是说") mark values how="user", and a value
the user negates in the same message ("I meant apixaban, not warfarin", "不是30岁") is dropped.
Clearing ("forget the age", "clear the company", "不考虑年龄") names a slot by its name, a
distinctive word of its description (en or zh; words shared by two slots, like "patient", name
neither), or its current value. Patterns match case-insensitively: users do not capitalise
"Warfarin" the way the pack author did; a value equal to one of a pattern's literal
alternatives takes the pack's spelling ("nda" -> "NDA", "Female" -> "female").

Left out on purpose: relative values ("the year before"), arithmetic on ages, and more than one
value per slot across turns (the newest message wins, see ``state``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from app.dialog.state import DialogState, How, SlotValue
from domains.pack import SlotConfig
from knowledge.text.tokenize import key_terms

ModelFallback = Callable[[str, list[SlotConfig]], dict[str, str]]

_FLAGS = re.IGNORECASE
# Strong cues only: "should be", "instead of" and "应该是" also open ordinary questions ("what
# dose should be given?", "剂量应该是多少？"), and a false correction lets loose value parts in.
_CORRECTION_EN = re.compile(
    r"^\W*(?:(?:oh|sorry|wait)\W+)?(?:no|nope|not quite|wrong|oops|correction|actually|i meant"
    r"|i mean)\b(?!\s+(?:longer|more|one)\b)"
    r"|\b(?:i meant|i said|correction:)"
    r"|\bnot\b[^,.;!?]{1,40}\bbut\b", _FLAGS)
_CORRECTION_ZH = re.compile(
    r"^\W*(?:不是|不对|错了|更正|纠正|应该是|其实是)|我是说|我的意思是|更正为")
# Negation right before a value: in a correction that value is the wrong one being replaced.
_NEGATED = re.compile(r"(?:\bnot|\bisn't|\bwasn't|\baren't|\bno longer|不是|并非|而非|而不是)"
                      r"\s*(?:the\s+|a\s+|an\s+|on\s+)?$", _FLAGS)

_CLEAR_EN = re.compile(
    r"(?:^|[,.;!?]\s*)(?:(?:please|pls|ok|okay|and|now|also|then|so|let's|let us|you can"
    r"|can you|could you)\W+)*"
    r"(?:forget(?:\s+about)?|clear|drop|ignore|disregard|remove|reset|never\s*mind"
    r"|stop\s+considering|don't\s+consider|do\s+not\s+consider)\b(?P<ref>[^,.;!?]*)"
    r"|\bno\s+longer\s+(?:on|taking|takes|has|have|considering|consider)\b(?P<ref2>[^,.;!?]*)",
    _FLAGS)
_CLEAR_ZH = re.compile(
    r"(?P<pre>[^，。；！？,.;!?]*)"
    # Not 取消/删除/撤销: in contracts and data law they are the topic ("取消合同的条件").
    r"(?:不考虑|不用考虑|不必考虑|不再考虑|先不管|别管|不用管|忽略|清除|去掉|不再服用|停用了|停了)"
    r"(?P<ref>[^，。；！？,.;!?]*)")
# The whole reference, so "forget all the allergies" clears the allergies only.
_CLEAR_ALL = re.compile(r"\W*(?:everything|all|all of (?:it|that|them)|all slots|全部|所有|一切)"
                        r"\W*", _FLAGS)
_EXAMPLES = re.compile(r",?\s*(?:e\.g\.|for example|such as)|[，,]?\s*(?:例如|比如|如)", _FLAGS)
_ASCII_ALNUM = "A-Za-z0-9"
_GENERIC_PROBES = ("abc", "词语")
_REGEX_META = set("\\.^$*+?{}[]()|")


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
    to a literal alternative of the slot's patterns (an enumeration like sex, or a drug list)
    becomes that alternative, so "Female" and "female" are one value.
    """
    cleaned = " ".join(value.split()).strip(" \t\"'`“”‘’.,;:!?，。；：！？、（）()")
    if slot is not None:
        cleaned = _canonical(tuple(slot.patterns)).get(cleaned.casefold(), cleaned)
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


def _loose_values(slots: Sequence[SlotConfig], text: str) -> dict[str, list[str]]:
    """The specific value parts of ``slots`` found alone; a span two slots claim goes to none."""
    hits: list[tuple[str, int, int, str]] = []
    for slot in slots:
        for group in _specific_groups(tuple(slot.patterns)):
            bounded = f"(?<![{_ASCII_ALNUM}])(?:{group})(?![{_ASCII_ALNUM}])"
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


@functools.cache
def _first_group(pattern: str) -> str | None:
    """The source text of the pattern's first capturing group (the value part), if any."""
    depth, start, i, in_class = 0, -1, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            capturing = not pattern.startswith("?", i + 1) or pattern.startswith("?P<", i + 1)
            if start < 0 and capturing:
                start, depth = i, 0
            if start >= 0:
                depth += 1
        elif ch == ")" and start >= 0:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1 : i]
                return re.sub(r"^\?P<\w+>", "", inner)
        i += 1
    return None


def _top_level_alternatives(group: str) -> list[str]:
    """``a|b(?:c|d)`` -> ["a", "b(?:c|d)"]: the alternatives outside any nested group."""
    parts: list[str] = []
    depth, current, i, in_class = 0, "", 0, False
    while i < len(group):
        ch = group[i]
        if ch == "\\":
            current += group[i : i + 2]
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(current)
            current = ""
            i += 1
            continue
        current += ch
        i += 1
    parts.append(current)
    return parts


@functools.cache
def _canonical(patterns: tuple[str, ...]) -> dict[str, str]:
    """Casefolded literal alternative -> the pack's spelling of it."""
    spelling: dict[str, str] = {}
    for pattern in patterns:
        group = _first_group(pattern)
        for alt in _top_level_alternatives(group) if group else []:
            if alt and not (set(alt) & _REGEX_META):
                spelling.setdefault(alt.casefold(), alt)
    return spelling


@functools.cache
def _specific_groups(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """Value parts that do not match any word: safe to look for without context words."""
    groups = (_first_group(p) for p in patterns)
    return tuple(g for g in groups if g and not any(
        re.fullmatch(g, probe, _FLAGS) for probe in _GENERIC_PROBES))


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
        head = _EXAMPLES.split(description, maxsplit=1)[0]
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
    if re.search(r"[\u4e00-\u9fff]", word):
        return word in folded_ref
    return word in ref_terms
