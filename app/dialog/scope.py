"""Scope: whom, when and where a passage's rule holds, and whether that is what was asked.

A hospital's adult sepsis bundle answers "and for children?" with a confident, cited, wrong
rule unless something compares the question's patient group with the document's. A pack
declares its dimensions (``[[scopes]]``: population, period, jurisdiction) and the words that
name each value; this module reads them:

- **asked**: the values the user's message names; else the rewritten standalone query (it
  carries a follow-up's year or law); else the slots the scope names (``slots``: a patient's
  group holds for every later question) and the numeric slots that imply a value (an age below
  18 means a child), the most recently stated winning.
- **a passage's scope**: the values named in its own text and headings, plus its document's
  scope statement: its title and name, the sections headed "Scope" / "适用范围", and every
  sentence with a scope cue ("applies to", "适用于", the pack's ``cues``). The statement
  matters because the chunk holding the bundle's steps rarely repeats "adults". A clause that
  leaves a group out ("excluding maternity", "另按《儿科…》执行") excludes it rather than
  covering it.
- **out of scope**: a passage whose own text does not name the asked value, and whose
  document excludes it or covers only other values. A passage naming no value of the
  dimension is general and kept.

The manager removes out-of-scope passages before answering; when that leaves no evidence it
refuses with a sentence naming what the documents cover (``refusal``). Left out on purpose:
ranking by scope (a kept passage is not promoted) and values that contain one another (a
dimension's values must exclude each other: adult / child, not adult / pregnant).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType

from app.dialog.evidence import has_evidence
from app.dialog.phrases import book, en, zh
from app.dialog.state import DialogState
from domains.pack import Pack, RetrievalConfig
from domains.scopes import ScopeConfig
from knowledge.retrieval import RetrievalResult
from knowledge.store.repository import ChunkSource
from knowledge.text.sentences import split_sentences
from knowledge.types import Passage

_FLAGS = re.IGNORECASE
_HEADING = re.compile(f"{en.SCOPE_HEADING}|{zh.SCOPE_HEADING}", _FLAGS)
_CUE = re.compile(f"{en.SCOPE_CUE}|{zh.SCOPE_CUE}", _FLAGS)
_EXCLUSION = re.compile(f"{en.SCOPE_EXCLUSION}|{zh.SCOPE_EXCLUSION}", _FLAGS)
# Table cells and brackets end a clause: "Adults aged 18 and over (excluding maternity)".
_CLAUSE_BREAK = re.compile(r"[|()（）]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

ChunkLoader = Callable[[Sequence[int]], Mapping[int, Sequence[ChunkSource]]]


@dataclass(frozen=True)
class Mention:
    """Values of one dimension a text covers, and those it leaves out."""

    covered: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    def __or__(self, other: Mention) -> Mention:
        return Mention(self.covered | other.covered, self.excluded | other.excluded)


@dataclass(frozen=True)
class Asked:
    """The values of one dimension a turn is about, and where they were read."""

    scope: ScopeConfig
    values: frozenset[str]
    source: str


@dataclass
class ScopeOutcome:
    """The retrieval result with out-of-scope passages removed, and what was removed."""

    found: RetrievalResult
    asked: list[Asked] = field(default_factory=list)
    removed: list[Passage] = field(default_factory=list)
    covered: dict[str, set[str]] = field(default_factory=dict)
    """Per dimension, the values the removed passages cover (what a refusal names)."""


# --- reading values -------------------------------------------------------------------------


def named_values(scope: ScopeConfig, text: str) -> set[str]:
    """The values of ``scope`` that ``text`` names (ignoring the pack's ``ignore`` text)."""
    return _values(scope, _blank(scope, text))


def mention(scope: ScopeConfig, text: str) -> Mention:
    """What ``text`` says about ``scope``, clause by clause: covered, or left out."""
    covered: set[str] = set()
    excluded: set[str] = set()
    for clause in _clauses(_blank(scope, text)):
        values = _values(scope, clause)
        (excluded if _EXCLUSION.search(clause) else covered).update(values)
    return Mention(frozenset(covered), frozenset(excluded))


def label(scope: ScopeConfig, value: str, language: str) -> str:
    """How a message names ``value``: the pack's label, or a captured value in its format."""
    for item in scope.values:
        if item.name == value:
            return item.label_for(language)
    template = scope.capture_label_zh if language == "zh" else scope.capture_label
    return template.replace("{value}", value)


def asked(scope: ScopeConfig, texts: Sequence[str], state: DialogState) -> Asked | None:
    """The values of ``scope`` the turn is about (the order is in the module docstring).

    ``texts`` are the user's message and the rewritten query, in that order.
    """
    for source, text in zip(("question", "query"), texts, strict=False):
        found = named_values(scope, text)
        if found:
            return Asked(scope, frozenset(found), source)
    by_turn: dict[int, set[str]] = {}
    sources: dict[int, list[str]] = {}
    for name in scope.slots:
        held = state.slots.get(name)
        found = named_values(scope, held.value) if held else set()
        if held and found:
            by_turn.setdefault(held.turn, set()).update(found)
            sources.setdefault(held.turn, []).append(name)
    for value in scope.values:
        rule = value.implied_by
        held = state.slots.get(rule.slot) if rule else None
        number = _NUMBER.search(held.value) if held else None
        if rule and held and number and rule.holds(float(number.group())):
            by_turn.setdefault(held.turn, set()).add(value.name)
            sources.setdefault(held.turn, []).append(rule.slot)
    if not by_turn:
        return None
    newest = max(by_turn)
    return Asked(scope, frozenset(by_turn[newest]), "slot " + ", ".join(sources[newest]))


# --- documents ------------------------------------------------------------------------------


class Documents:
    """The documents of a turn's passages, each read once from its stored chunks: their scope
    statements, and the passages next to a retrieved one (a table's footnotes).

    ``cues`` are the pack's own cue regexes (all its scopes'): a sentence stating one
    dimension's scope is read for every dimension, each finding only its own values in it.
    """

    def __init__(self, load: ChunkLoader, cues: Sequence[str] = ()) -> None:
        self._load = load
        self._cues = tuple(cues)
        self._chunks: dict[int, Sequence[ChunkSource]] = {}
        self._units: dict[int, list[str]] = {}

    @classmethod
    def for_pack(cls, load: ChunkLoader, pack: Pack) -> Documents:
        return cls(load, [c for scope in pack.scopes for c in scope.cues])

    def chunks(self, doc_ids: Iterable[int]) -> dict[int, Sequence[ChunkSource]]:
        """Each document's chunks in order; a document deleted since the search has none."""
        wanted = list(dict.fromkeys(doc_ids))
        todo = [d for d in wanted if d not in self._chunks]
        if todo:
            loaded = self._load(todo)
            for doc_id in todo:
                self._chunks[doc_id] = loaded.get(doc_id, ())
        return {d: self._chunks[d] for d in wanted}

    def units(self, doc_ids: Iterable[int]) -> dict[int, list[str]]:
        """The scope statement of each document (``statement_units``)."""
        chunks = self.chunks(doc_ids)
        for doc_id, items in chunks.items():
            if doc_id not in self._units:
                self._units[doc_id] = statement_units(items, self._cues)
        return {d: self._units[d] for d in chunks}

    def neighbours(self, passages: Sequence[Passage]) -> list[ChunkSource]:
        """The chunks just before and after each passage that are not passages themselves:
        where the footnote "(a) reduce to 2.5 mg if aged 80 or more" of a dose table sits."""
        have = {p.chunk_id for p in passages}
        out: dict[int, ChunkSource] = {}
        for passage in passages:
            items = self.chunks([passage.doc_id])[passage.doc_id]
            ids = [c.chunk_id for c in items]
            if passage.chunk_id not in ids:
                continue
            at = ids.index(passage.chunk_id)
            for near in items[max(at - 1, 0):at + 2]:
                if near.chunk_id not in have:
                    out.setdefault(near.chunk_id, near)
        return list(out.values())


def statement_units(chunks: Sequence[ChunkSource], cues: Sequence[str] = ()) -> list[str]:
    """The sentences of a document that state its scope: its file name and title, every
    sentence of a section headed like "Scope" / "适用范围", and every sentence with a scope
    cue ("applies to", "适用于", or one of ``cues``), wherever it stands."""
    if not chunks:
        return []
    extra = [re.compile(c, _FLAGS) for c in cues]
    units = [re.sub(r"[-_.]+", " ", chunks[0].doc_name)]
    title = _title(chunks)
    if title:
        units.append(title)
    for chunk in chunks:
        # "Adult ... Protocol > 2. Scope" is a scope section; a title that says "scope" is not.
        whole = any(_HEADING.search(h) for h in chunk.heading_path if h != title)
        for unit in _lines_and_sentences(chunk.text):
            if whole or _CUE.search(unit) or any(c.search(unit) for c in extra):
                units.append(unit)
    return units


def covering_clauses(units: Sequence[str]) -> list[str]:
    """The clauses of a statement that say what a document covers, not what it leaves out
    ("It does not cover children" is no condition the document's rules hold under)."""
    return [clause for unit in units for clause in _clauses(unit) if not _EXCLUSION.search(clause)]


def document_mention(scope: ScopeConfig, units: Sequence[str]) -> Mention:
    """A document's scope on one dimension, from its statement (``statement_units``)."""
    result = Mention()
    for unit in units:
        result = result | mention(scope, unit)
    return result


# --- filtering ------------------------------------------------------------------------------


def in_scope(wanted: frozenset[str], own: Mention, document: Mention) -> bool:
    """Whether a passage may answer a question about ``wanted`` (module docstring)."""
    if wanted & own.covered:
        return True
    if wanted & (own.excluded | document.excluded):
        return False
    covered = own.covered | document.covered
    return not covered or bool(wanted & covered)


def apply_scopes(found: RetrievalResult, pack: Pack, texts: Sequence[str],
                 state: DialogState, documents: Documents) -> ScopeOutcome:
    """``found`` without the passages out of scope for what the turn asks about."""
    outcome = ScopeOutcome(found)
    for scope in pack.scopes:
        wanted = asked(scope, texts, state)
        if wanted is not None:
            outcome.asked.append(wanted)
    if not outcome.asked or not found.passages:
        return outcome
    units = documents.units(p.doc_id for p in found.passages)
    kept: list[Passage] = []
    for passage in found.passages:
        verdicts = [_verdict(a, passage, units.get(passage.doc_id, [])) for a in outcome.asked]
        if all(ok for ok, _ in verdicts):
            kept.append(passage)
            continue
        outcome.removed.append(passage)
        for a, (ok, covered) in zip(outcome.asked, verdicts, strict=True):
            if not ok:
                outcome.covered.setdefault(a.scope.name, set()).update(covered - a.values)
    if outcome.removed:
        outcome.found = replace(found, passages=kept)
    return outcome


def lost_evidence(found: RetrievalResult, outcome: ScopeOutcome, cfg: RetrievalConfig,
                  lang: str) -> bool:
    """Whether removing the out-of-scope passages is what leaves no evidence to answer from.

    A name no document contains is normally enough to refuse ("the Manchester office"); when
    that name is the asked value itself ("Delaware"), it is the scope gap this module reports.
    """
    if not outcome.removed or has_evidence(outcome.found, cfg, lang):
        return False
    unknown = [t for t in found.unknown_terms
               if not any(named_values(a.scope, t) & a.values for a in outcome.asked)]
    return has_evidence(replace(found, unknown_terms=unknown), cfg, lang)


def refusal(outcome: ScopeOutcome, language: str) -> str:
    """One plain sentence per dimension that removed passages: what the documents cover."""
    words = book(language)
    sentences = []
    for a in outcome.asked:
        if a.scope.name not in outcome.covered:
            continue
        covered = _join(sorted(label(a.scope, v, language)
                               for v in outcome.covered[a.scope.name]), words)
        wanted = _join(sorted(label(a.scope, v, language) for v in a.values), words)
        template = words.SCOPE_REFUSAL if covered else words.SCOPE_REFUSAL_EXCLUDED
        sentences.append(template.format(covered=covered, asked=wanted))
    return " ".join(sentences) if language != "zh" else "".join(sentences)


def reason(outcome: ScopeOutcome) -> str:
    """What the scope check did, in the words of the rewrite's reason (English, like it):
    "scope: patient group = children (under 18) (question); 3 passage(s) out of scope left
    out"."""
    parts = [en.SCOPE_REASON.format(
        description=a.scope.description,
        values=_join(sorted(label(a.scope, v, "en") for v in a.values), en))
        + f" ({a.source})" for a in outcome.asked]
    if outcome.removed:
        parts.append(en.SCOPE_REMOVED.format(n=len(outcome.removed)))
    return "; ".join(parts)


# --- helpers --------------------------------------------------------------------------------


def _verdict(wanted: Asked, passage: Passage, units: Sequence[str]) -> tuple[bool, set[str]]:
    own = mention(wanted.scope, "\n".join([*passage.heading_path, passage.text]))
    document = document_mention(wanted.scope, units)
    return in_scope(wanted.values, own, document), set(own.covered | document.covered)


def _title(chunks: Sequence[ChunkSource]) -> str | None:
    """The document's title: the first heading, when the others are under it."""
    first = chunks[0].heading_path[:1]
    if first and any(len(c.heading_path) > 1 and c.heading_path[0] == first[0] for c in chunks):
        return first[0]
    return None


def _values(scope: ScopeConfig, text: str) -> set[str]:
    found = {v.name for v in scope.values if any(re.search(p, text, _FLAGS) for p in v.patterns)}
    for pattern in scope.capture:
        found.update(m.group(1) for m in re.finditer(pattern, text, _FLAGS) if m.group(1))
    return found


def _blank(scope: ScopeConfig, text: str) -> str:
    for pattern in scope.ignore:
        text = re.sub(pattern, lambda m: " " * len(m.group()), text, flags=_FLAGS)
    return text


def _lines_and_sentences(text: str) -> Iterator[str]:
    for line in text.splitlines():
        for start, end in split_sentences(line):
            yield line[start:end]


def _clauses(text: str) -> Iterator[str]:
    for unit in _lines_and_sentences(text):
        for clause in _CLAUSE_BREAK.split(unit):
            if clause.strip():
                yield clause


def _join(items: Sequence[str], words: ModuleType) -> str:
    if len(items) <= 1:
        return "".join(items)
    return str(words.SCOPE_JOIN.join(items[:-1]) + words.SCOPE_LAST_JOIN + items[-1])
