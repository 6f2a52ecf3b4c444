"""Follow-up questions -> standalone retrieval queries, from the dialog state alone.

Retrieval sees one string, so "and in 2023?" must become "What was Northbridge's profit before
tax in 2023?" before it is searched. The rules, in order:

1. Not a follow-up: the question is used as asked. ``app.dialog.reference`` decides, from
   linguistic cues only, whether a message refers back (an opener such as "and" / "what
   about" / "那", a final 呢, a pronoun, an elliptical fragment such as "for children?" or
   "any awards?", the answer to a clarifying question) or names its own topic (a new noun
   phrase such as "Value" or "Gifting", "What are ETFs?", a pronoun resolved inside a question
   that names the conversation's topic itself). A self-contained question names its own
   topic; adding the previous turn's words would pull BM25 towards the old topic (a new
   "single-name concentration limit" question carrying "profit before tax 2022" fetches the
   annual report; "Value" carrying "renting buying more convenient" fetches renting
   passages). A short one keeps the conversation's entity (a slot with ``entity = true``):
   "side effects?" after "is metformin first-line?" searches "side effects metformin". The
   manager may opt in with ``carry_recent_turns``: expand-slot values stated that many turns
   back are added to a longer standalone question.
2. A follow-up that brings nothing but slot values ("and in 2023?", "那2022年呢？", "and for
   rivaroxaban?", the "82" answering "How old is the patient?"): the previous standalone query
   with each old value swapped for the new one; a value with no old one to replace is added.
3. Any other follow-up ("what about its side effects?"): a pronoun, or one of the pack's
   ``entity_nouns`` ("the drug"), is replaced by the most recent entity value (a slot with
   ``entity = true``) that the previous query mentioned; then the previous turn's topic is
   added: its expand-slot values and the key terms of its standalone query (never of its
   answer, nor its exclamations, filler words and general verbs such as "happens") that the
   question lacks. When the previous turn was itself a follow-up only what it had carried
   counts as topic, not its own aspect, so a chain of follow-ups does not snowball;
   ``MAX_CARRIED_TERMS`` is a safety cap. A carried noun that an earlier turn said with a
   modifier ("restraining order", later shortened to "an order") carries the modifier too.

Pure functions of (question, state, pack): call them after the turn's slots were updated and
before the turn is appended. The openers, pronouns and filler words are in the phrasebooks
(``app.dialog.phrases``), the words of an elliptical fragment in ``app.dialog.reference``.
Each ``Rewrite.reason`` names the cue it acted on. Left out on purpose: a model-based
rewriter (slow, and a small model rewrites confidently wrong) and carrying older turns' topics
wholesale (the previous standalone query already carries older context forward; adding the
first turn's words as well, measured on mtrag-mini, won one follow-up and lost another).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field, replace

from app.dialog.phrases import References, en, references, zh
from app.dialog.reference import DETERMINERS, LATIN_WORD, NON_TOPIC_WORDS, Cue, read_cue
from app.dialog.slots import (
    SlotUpdate,
    is_correction,
    rule_matches,
    slots_to_clear,
    strip_clear_commands,
)
from app.dialog.state import DialogState, SlotValue, Turn
from domains.pack import Pack, SlotConfig
from knowledge.retrieval import Filters
from knowledge.text.cjk import has_han
from knowledge.text.tokenize import key_terms

MAX_CARRIED_TERMS = 12
ENTITY_TOPIC_MAX_TERMS = 2
_FLAGS = re.IGNORECASE
_EN_OPENER = re.compile(en.FOLLOW_UP_OPENER, _FLAGS)
_ZH_OPENER = re.compile(zh.FOLLOW_UP_OPENER)
_ZH_TAIL = re.compile(zh.FOLLOW_UP_TAIL)
_FILLER = en.FILLER_WORDS | zh.FILLER_WORDS
# An exclamation reacts to the last answer ("Of course I knew it!", "Great!"); it names no topic.
_EXCLAMATION = re.compile(r"[^.!?。！？]*[!！]+")
_END_PUNCT = " \t?？。.!！"
# Words before a noun that do not narrow what it names ("the other person", "any order").
_NOT_MODIFIERS = NON_TOPIC_WORDS | _FILLER | DETERMINERS


@dataclass(frozen=True)
class Rewrite:
    """The query to retrieve with, why, and which slots went into it.

    ``reason`` is shown to users (CLI ``--verbose``, the UI detail panel), so it says in words
    what was done: "follow-up (opener 'what about'): replaced 'its' with 'metformin' from turn
    1".
    """

    query: str
    reason: str
    used_slots: list[str] = field(default_factory=list)
    follow_up: bool = False


def rewrite_query(question: str, state: DialogState, pack: Pack, *,
                  update: SlotUpdate | None = None, carry_recent_turns: int = 0) -> Rewrite:
    """A standalone retrieval query for ``question`` (the rules are in the module docstring).

    ``update`` is what ``slots.update_slots`` returned for this message: with it a corrected
    or cleared value is found in the last query even where no pattern matches it (an age the
    user gave as a bare "82"). Without it, the message is re-read for corrections and clear
    commands and old values are found by the pack patterns only.
    """
    text = " ".join(question.split())
    last = state.last_turn
    if last is None:
        return _standalone(text, state, pack, carry_recent_turns)
    new = {n: v for n, v in state.slots.items() if v.turn == state.next_index}
    old = dict(update.previous) if update else {}
    cleared = list(update.cleared) if update else slots_to_clear(text, pack.slots)
    correction = update.correction if update else is_correction(text)
    rest = strip_clear_commands(text) if cleared else text
    aspect = _aspect_terms(rest, pack, new)
    if (correction or cleared) and not aspect:
        cue = "correction" if correction else f"forget {', '.join(cleared)}"
        return _swap_values(rest, last, pack, new, old, cleared, cue)
    cue = read_cue(rest, last, aspect, pack, state.turns)
    if cue is None:
        return _standalone(rest, state, pack, carry_recent_turns)
    if not cue.refers_back:
        return _own_topic(rest, last, state, pack, cue, carry_recent_turns)
    if not aspect:
        return _swap_values(rest, last, pack, new, old, cleared, cue.label)
    return _carry_topic(rest, last, state, pack, new, old, cue.label)


def follow_up_cue(question: str, state: DialogState, pack: Pack) -> str | None:
    """Why ``question`` depends on the previous turn (a short label), or None if it does not."""
    last = state.last_turn
    if last is None:
        return None
    text = " ".join(question.split())
    new = {n: v for n, v in state.slots.items() if v.turn == state.next_index}
    cue = read_cue(text, last, _aspect_terms(text, pack, new), pack, state.turns)
    return cue.label if cue is not None and cue.refers_back else None


def slot_filters(state: DialogState, pack: Pack) -> Filters:
    """Retrieval filters and preferences from the slots the pack wires to the search.

    ``use = "filter"``: each value becomes a document tag; ``Filters.tags`` keeps documents
    carrying *any* of the tags, so two filter slots widen rather than narrow; values are
    compared exactly as normalised (the pack's spelling for enumerations), so tag documents
    with those spellings. ``use = "boost"``: documents whose title or file name names the value
    rank first (``Filters.prefer``; never a restriction).
    """
    def values(use: str) -> frozenset[str]:
        return frozenset(part for slot in pack.slots if slot.use == use and slot.name in state.slots
                         for part in state.slots[slot.name].value.split(", ") if part)

    return Filters(tags=values("filter"), prefer=values("boost"))


# --- the rules ------------------------------------------------------------------------------


def _standalone(text: str, state: DialogState, pack: Pack, within: int) -> Rewrite:
    if within <= 0 or not state.turns:
        return Rewrite(text, "standalone question: used as asked")
    oldest = state.next_index - within
    added = [(s, v) for s in pack.slots
             if s.use == "expand" and (v := state.slots.get(s.name)) is not None
             and oldest <= v.turn < state.next_index and not _mentioned(v.value, text)]
    if not added:
        return Rewrite(text, "standalone question: used as asked")
    query = f"{text.rstrip(_END_PUNCT)} {' '.join(v.value for _, v in added)}"
    return Rewrite(query, f"standalone question; added recent {_describe(added)}",
                   [s.name for s, _ in added])


def _own_topic(text: str, last: Turn, state: DialogState, pack: Pack, cue: Cue,
               within: int) -> Rewrite:
    """A message that names its own topic: as asked, with the conversation's entity.

    The entity (a slot with ``entity = true``: the drug, the company) is what the whole
    conversation is about, not the previous question's aspect, so "side effects?" after "is
    metformin first-line?" keeps metformin; without one the message is searched as typed.
    """
    entity = _entity(state, pack, last, text) if cue.keeps_entity else None
    if entity is None:
        plain = _standalone(text, state, pack, within)
        return replace(plain, reason=plain.reason.replace(
            "standalone question", f"standalone question ({cue.label})", 1))
    slot, value = entity
    query = f"{text.rstrip(_END_PUNCT)} {value.value}"
    return Rewrite(query, f"standalone question ({cue.label}): added {_describe([entity])}",
                   [slot.name], follow_up=True)


def _swap_values(text: str, last: Turn, pack: Pack, new: dict[str, SlotValue],
                 old: dict[str, SlotValue], cleared: list[str], cue: str) -> Rewrite:
    """Rule 2: the previous query with this message's slot values swapped in (or cleared out)."""
    query = last.query
    changes: list[str] = []
    used: list[str] = []
    appended: list[str] = []
    for slot in pack.slots:
        value = new.get(slot.name)
        if slot.name in cleared:
            span = _old_span(query, slot, old.get(slot.name), whole=True)
            if span is not None:
                changes.append(f"{slot.name} {query[span[0]:span[1]]!r} removed")
                query = query[: span[0]] + query[span[1]:]
            continue
        if value is None:
            continue
        span = _old_span(query, slot, old.get(slot.name), whole=False)
        if span is not None:
            was = query[span[0]:span[1]]
            if was.casefold() != value.value.casefold():
                query = query[: span[0]] + value.value + query[span[1]:]
                changes.append(f"{slot.name} {was!r} -> {value.value!r}")
                used.append(slot.name)
        elif slot.use == "expand" and not _mentioned(value.value, query):
            # The words around the value where the pattern had them ("72 years old", "75岁"),
            # so an age stays an age; else the bare value (an "82" answering "How old?").
            match = next(iter(rule_matches(slot, text)), None)
            appended.append(match.group() if match else value.value)
            used.append(slot.name)
    query = " ".join(query.split())
    if appended:
        query = f"{query.rstrip(_END_PUNCT)} {' '.join(appended)}"
        changes.append(", ".join(repr(a) for a in appended) + " added")
    what = ", ".join(changes) if changes else "nothing new, so reused as is"
    return Rewrite(query, f"follow-up ({cue}): turn {last.index}'s query with {what}", used,
                   follow_up=True)


def _carry_topic(text: str, last: Turn, state: DialogState, pack: Pack,
                 new: dict[str, SlotValue], old: dict[str, SlotValue], cue: str) -> Rewrite:
    """Rule 3: replace a pronoun by the entity, then add the previous turn's topic."""
    notes: list[str] = []
    used: list[str] = []
    entity = _entity(state, pack, last, text)
    if entity is not None:
        slot, value = entity
        pattern = _replaceable(text, last, pack)
        found = pattern.search(text)
        if found:
            text = pattern.sub(
                lambda m: value.value + ("的" if m.group().endswith("的") else ""), text)
            notes.append(f"replaced {found.group()!r} with {value.value!r} from turn "
                         f"{value.turn}")
            used.append(slot.name)
    body = _strip_opener(text).rstrip(_END_PUNCT)
    carried = [(s, v) for s in pack.slots
               if s.use == "expand" and s.name not in new and s.name not in used
               and (v := state.slots.get(s.name)) is not None
               and not _mentioned(v.value, body) and _mentioned(v.value, last.query)]
    have = set(key_terms(body)) | {t for _, v in carried for t in key_terms(v.value)}
    stale = {t for v in old.values() for t in key_terms(v.value)}
    stale |= {t for s in pack.slots if s.name in new
              for m in rule_matches(s, last.query) for t in key_terms(m.group(1))}
    terms = [t for t in _topic_terms(last) if t not in have and t not in stale
             and t not in _FILLER and t not in NON_TOPIC_WORDS
             and not _covered_cjk(t, have)][:MAX_CARRIED_TERMS]
    compounds = [(m, noun, turn) for m, noun, turn in _modifiers(terms, state.turns[:-1])
                 if m not in have][:max(0, MAX_CARRIED_TERMS - len(terms))]
    if carried:
        notes.append(f"added {_describe(carried)}")
        used += [s.name for s, _ in carried]
    if terms:
        notes.append(f"added {', '.join(repr(t) for t in terms)} from turn {last.index}")
    notes += [f"added {m!r} ('{m} {noun}' in turn {turn})" for m, noun, turn in compounds]
    context = [v.value for _, v in carried] + terms + [m for m, _, _ in compounds]
    query = " ".join([body, *context]) if context else body
    reason = f"follow-up ({cue}): " + ("; ".join(notes) or "nothing to add")
    return Rewrite(query, reason, used, follow_up=True)


# --- helpers --------------------------------------------------------------------------------


def _topic_terms(last: Turn) -> list[str]:
    """The previous turn's topic: its query's key terms, less its own follow-up's new aspect.

    For a standalone previous question that is all of it; for a previous follow-up ("what
    about its side effects?" -> "metformin side effects diabetes") only what it had carried,
    so the aspects of a chain of follow-ups do not pile up. Exclamations are left out when the
    rest still has key terms.
    """
    terms = key_terms(last.query)
    if _fold(last.query) == _fold(last.question):
        return key_terms(_EXCLAMATION.sub(" ", last.query)) or terms
    own = set(key_terms(last.question))
    return [t for t in terms if t not in own]


def _modifiers(terms: list[str], earlier: list[Turn]) -> list[tuple[str, str, int]]:
    """(modifier, noun, turn) for each carried noun an earlier turn said as a compound.

    "How do I file an order?" after "How can I get a restraining order ...?" is about the
    restraining order: the later turn shortened the noun phrase to its head, so a follow-up
    carrying "order" carries "restraining" too. English word pairs only (the word right before
    the noun, a topic word itself); older turns are otherwise not carried, since the previous
    query already holds what the conversation is about.
    """
    wanted = set(terms)
    found: dict[str, tuple[str, str, int]] = {}
    for turn in earlier:
        words = [w.casefold() for w in LATIN_WORD.findall(turn.question)]
        for before, noun in itertools.pairwise(words):
            if noun in wanted and before not in wanted and before not in found \
                    and key_terms(before) == [before] and before not in _NOT_MODIFIERS:
                found[before] = (before, noun, turn.index)
    return list(found.values())


def _entity(state: DialogState, pack: Pack, last: Turn,
            text: str) -> tuple[SlotConfig, SlotValue] | None:
    """The most recent entity the previous query was about, unless the question names one."""
    candidates = [(s, v) for s in pack.slots if s.entity
                  and (v := state.slots.get(s.name)) is not None
                  and _mentioned(v.value, last.query) and not _mentioned(v.value, text)]
    if not candidates:
        return None
    return max(candidates, key=lambda sv: sv[1].turn)


def _replaceable(text: str, last: Turn, pack: Pack) -> re.Pattern[str]:
    """Which pronouns may become the entity.

    "its", "the drug", "它的"-style references always mean a thing; a bare "it" / "它" means
    the entity only when the previous question was about little else ("is metformin
    first-line?"), not when it had its own subject ("Northbridge's concentration limit" ->
    "who approves exceptions to it?" is about the limit).
    """
    refs = _references(pack)
    centred = len(_aspect_terms(last.question, pack, {})) <= ENTITY_TOPIC_MAX_TERMS
    if has_han(text):
        return refs.zh_replace if centred else refs.zh_replace_noun
    return refs.en_replace if centred else refs.en_replace_noun


def _old_span(query: str, slot: SlotConfig, old: SlotValue | None,
              whole: bool) -> tuple[int, int] | None:
    """Where the slot's previous value sits in ``query``: pattern match, else literal value."""
    match = next(iter(rule_matches(slot, query)), None)
    if match is not None:
        return match.span(0) if whole else match.span(1)
    for part in old.value.split(", ") if old else []:
        found = re.search(rf"(?<![A-Za-z0-9]){re.escape(part)}(?![A-Za-z0-9])", query, _FLAGS)
        if found:
            return found.span()
    return None


def _aspect_terms(text: str, pack: Pack, new: dict[str, SlotValue]) -> list[str]:
    """Key terms of the question that are not slot values, fillers or pronoun nouns."""
    covered_text = [m.group().casefold() for s in pack.slots for m in rule_matches(s, text)]
    covered_text += [v.value.casefold() for v in new.values()]
    covered = {t for piece in covered_text for t in key_terms(piece)}
    ends = _reference_words(pack.entity_nouns("en"))
    return [t for t in key_terms(text) if t not in covered and t not in _FILLER
            and t not in ends and not (has_han(t) and any(t in piece for piece in covered_text))]


def _mentioned(value: str, text: str) -> bool:
    """Whether every part of a slot value already occurs in ``text``."""
    folded = _fold(text)
    terms = set(key_terms(text))
    parts = [p for p in value.split(", ") if p]
    return bool(parts) and all(
        _fold(p) in folded or set(key_terms(p)) <= terms for p in parts)


def _covered_cjk(term: str, have: set[str]) -> bool:
    return has_han(term) and any(term in h or h in term for h in have if has_han(h))


def _strip_opener(text: str) -> str:
    stripped = _EN_OPENER.sub("", text, count=1)
    stripped = _ZH_OPENER.sub("", stripped, count=1)
    stripped = _ZH_TAIL.sub("", stripped)
    return stripped.strip() or text


def _references(pack: Pack) -> References:
    return references(pack.entity_nouns("en"), pack.entity_nouns("zh"))


@functools.cache
def _reference_words(nouns: tuple[str, ...]) -> frozenset[str]:
    """Words that finish a reference and so bring no new aspect: "same", "one", and the pack's
    entity nouns ("the same drug"). In the turn before, the noun may be its topic ("the
    employment contract"), so it is carried there."""
    return en.REFERENCE_WORDS | {t for noun in nouns for t in key_terms(noun)}


def _describe(items: list[tuple[SlotConfig, SlotValue]]) -> str:
    return ", ".join(f"{v.value!r} ({s.name}, turn {v.turn})" for s, v in items)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
