"""One entry point per kind of variant, for either language, with the name pools that entity
swaps draw from (names of OTHER documents, so a swapped name cannot be the right one).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from benchmarks.claims import corrupt_en, corrupt_table, corrupt_zh
from benchmarks.claims.edits import (
    Corruption,
    absent,
    normalised,
    overlap_tokens,
    split_lead_in,
)
from benchmarks.claims.questions import Question
from benchmarks.claims.structural import echoes, fragment, near_repeat
from benchmarks.claims.tables import RowClaim
from benchmarks.claims.truths import EN_PREFIXES, ZH_PREFIXES, paraphrase
from benchmarks.claims.types import Doc, Source
from knowledge.types import Passage

MAX_WRONG_COVERAGE = 0.5
_LOWER_WORD = re.compile(r"\b[a-z][a-z'-]+\b")


class Variants:
    def __init__(self, lang: str, docs: Sequence[Doc], prose: Sequence[Source],
                 tables: Sequence[Source]) -> None:
        self.lang = lang
        self._en_names: dict[str, list[tuple[str, str]]] = {}
        self._zh_names: dict[str, list[tuple[str, str]]] = {}
        self._labels: dict[str, list[tuple[str, str]]] = {}
        self.vocab: frozenset[str] = frozenset()
        if lang == "zh":
            for doc in docs:
                for kind, found in corrupt_zh.names(" ".join(p.text for p in doc.passages)
                                                    ).items():
                    self._zh_names.setdefault(kind, []).extend((doc.group, n)
                                                               for n in sorted(found))
        else:
            self.vocab = frozenset(w for doc in docs for p in doc.passages
                                   for w in _LOWER_WORD.findall(p.text))
            for src in prose:
                self._en_names.setdefault(src.doc.dataset, []).extend(
                    (src.doc.group, name)
                    for _, _, name in corrupt_en.entities(src.claim, self.vocab))
        for src in tables:
            if src.row is not None:
                self._labels.setdefault(src.doc.dataset, []).append((src.doc.group,
                                                                     src.row.label))

    def paraphrase(self, claim: str, rng: random.Random) -> str | None:
        return paraphrase(claim, self.lang, rng, self.vocab)

    def fragment(self, claim: str, rng: random.Random) -> str | None:
        """A fragment of the claim's body: the lead-in alone is no fragment of the fact."""
        lead, body = split_lead_in(claim, ZH_PREFIXES if self.lang == "zh" else EN_PREFIXES)
        piece = fragment(body, self.lang, rng)
        if piece is None or not lead:
            return piece
        marker = re.match(r"\d\. \*\*", piece)
        return (marker.group() + lead + piece[marker.end():]) if marker else lead + piece

    def repeat(self, claim: str, rng: random.Random) -> str:
        return near_repeat(claim, self.lang, rng)

    def wrong_passage(self, claim: str, passages: Sequence[Passage], source_n: int,
                      rng: random.Random) -> int | None:
        """A distractor that plainly does not say the claim (few of its words, not its text)."""
        words = overlap_tokens(claim)
        options = []
        for n, p in enumerate(passages, 1):
            if n == source_n or normalised(claim) in normalised(p.text):
                continue
            shared = len(words & overlap_tokens(p.text)) / max(1, len(words))
            if shared < MAX_WRONG_COVERAGE:
                options.append(n)
        return rng.choice(options) if options else None

    def best_passage(self, doc: Doc, q: Question) -> Passage:
        """The gold document's passage sharing most words with the answer (or the question)."""
        words = overlap_tokens(q.answer or q.text)
        return max(doc.passages, key=lambda p: len(words & overlap_tokens(p.text)))

    def echoes(self, q: Question, passage: Passage, rng: random.Random) -> list[str]:
        found = [e for e in echoes(q.text, self.lang) if absent(e, passage.text)]
        return rng.sample(found, min(2, len(found)))

    def corrupt(self, kind: str, src: Source, base: str, row: RowClaim | None,
                rng: random.Random, medical: bool) -> Corruption | None:
        """``base`` with one change of ``kind``; a lead-in it starts with is left alone."""
        if row is not None:
            return self._corrupt_row(kind, src, row, rng)
        lead, body = split_lead_in(base, ZH_PREFIXES if self.lang == "zh" else EN_PREFIXES)
        change = self._corrupt_text(kind, src, body, rng, medical)
        return None if change is None else Corruption(lead + change.claim, change.old,
                                                      change.new)

    def _corrupt_text(self, kind: str, src: Source, base: str, rng: random.Random,
                      medical: bool) -> Corruption | None:
        passage = src.passage.text
        if self.lang == "zh":
            if kind == "entity":
                pool = {k: [n for g, n in v if g != src.doc.group]
                        for k, v in self._zh_names.items()}
                return corrupt_zh.corrupt_entity(base, passage, pool, rng)
            zh = {"number": corrupt_zh.corrupt_number, "unit": corrupt_zh.corrupt_unit,
                  "qualifier": corrupt_zh.corrupt_qualifier,
                  "negation": corrupt_zh.corrupt_negation}
            return zh[kind](base, passage, rng) if kind in zh else None
        if kind == "number":
            return corrupt_en.corrupt_number(base, passage, rng)
        if kind == "unit":
            return corrupt_en.corrupt_unit(base, src.sentence, passage, rng, medical)
        if kind == "qualifier":
            return corrupt_en.corrupt_qualifier(base, src.sentence, passage, rng)
        if kind == "negation":
            return corrupt_en.corrupt_negation(base, src.sentence, passage, rng)
        if kind == "entity":
            pool = [n for g, n in self._en_names.get(src.doc.dataset, ()) if g != src.doc.group]
            return corrupt_en.corrupt_entity(base, passage, pool, rng, self.vocab)
        return None

    def _corrupt_row(self, kind: str, src: Source, row: RowClaim, rng: random.Random
                     ) -> Corruption | None:
        passage = src.passage.text
        if kind == "number":
            return corrupt_table.corrupt_number(row, passage, rng)
        if kind == "qualifier":
            return corrupt_table.corrupt_qualifier(row, rng)
        if kind == "unit":
            return corrupt_table.corrupt_unit(row, passage, rng)
        if kind == "entity":
            labels = [n for g, n in self._labels.get(src.doc.dataset, ()) if g != src.doc.group]
            return corrupt_table.corrupt_entity(row, passage, labels, rng)
        return None
