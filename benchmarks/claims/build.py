"""Assemble the benchmark's cases: sample documents, pick true claims, derive corruptions, and
give each claim the passages a retriever would have returned with it.

Each claim is checked against its source passage plus two or three passages of other documents
of the same set, chosen among random ones for the words they share with the source (a
retriever returns look-alikes, not random text), shuffled, with the source cited. Each kind is
filled from the pool of source sentences (at most six per document) in its own random order,
the sets taking turns, skipping sentences it cannot change, so every set contributes to every
kind it can.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from benchmarks.claims.corpus import (
    EN_DATASETS,
    EVALSETS,
    MEDICAL,
    ZH_DATASETS,
    DocMaker,
    en_sources,
    sample_docs,
    zh_sources,
)
from benchmarks.claims.edits import Corruption, overlap_tokens
from benchmarks.claims.questions import Question, load_questions
from benchmarks.claims.tables import RowClaim, corner_of, render_row, row_sources, value_cols
from benchmarks.claims.types import CORRUPT_KINDS, Case, Doc, Source
from benchmarks.claims.variants import Variants
from knowledge.types import Passage

TRUE_SHARES = {"en": {"verbatim": 0.35, "paraphrase": 0.35, "table_row": 0.2, "uncited": 0.1},
               "zh": {"verbatim": 0.45, "paraphrase": 0.45, "uncited": 0.1}}
DISTRACTOR_CANDIDATES = 30


class Contexts:
    """The passages a claim is checked against, chosen once per source passage."""

    def __init__(self, docs: Sequence[Doc], rng: random.Random) -> None:
        self._rng = rng
        self._by_dataset: dict[str, list[tuple[str, Passage]]] = {}
        for doc in docs:
            self._by_dataset.setdefault(doc.dataset, []).extend((doc.group, p)
                                                                for p in doc.passages)
        self._tokens: dict[int, frozenset[str]] = {}
        self._chosen: dict[int, tuple[tuple[Passage, ...], int]] = {}

    def _words(self, p: Passage) -> frozenset[str]:
        if p.chunk_id not in self._tokens:
            self._tokens[p.chunk_id] = overlap_tokens(p.text)
        return self._tokens[p.chunk_id]

    def of(self, dataset: str, group: str, source: Passage) -> tuple[tuple[Passage, ...], int]:
        """The shuffled passages and the 1-based number of the source among them."""
        if source.chunk_id in self._chosen:
            return self._chosen[source.chunk_id]
        others = [p for g, p in self._by_dataset.get(dataset, ()) if g != group]
        sample = self._rng.sample(others, min(len(others), DISTRACTOR_CANDIDATES))
        mine = self._words(source)
        sample.sort(key=lambda p: -len(mine & self._words(p)) / (1 + len(self._words(p))) ** 0.5)
        passages = [source, *sample[:self._rng.choice((2, 3))]]
        self._rng.shuffle(passages)
        chosen = (tuple(passages), passages.index(source) + 1)
        self._chosen[source.chunk_id] = chosen
        return chosen


def _interleave(groups: Sequence[Sequence[Source]]) -> list[Source]:
    out: list[Source] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def _quotas(total: int, shares: dict[str, float]) -> dict[str, int]:
    out = {k: int(total * s) for k, s in shares.items()}
    for k in list(shares)[: total - sum(out.values())]:
        out[k] += 1
    return out


class Builder:
    """The sampled documents of one language, their candidate sentences, and the case makers."""

    def __init__(self, lang: str, limit: int, seed: int, root: Path,
                 datasets: Sequence[str] | None, rows: int | None) -> None:
        self.lang = lang
        self.limit = limit
        self.rng = random.Random(f"{seed}:{lang}")
        names = tuple(datasets or (ZH_DATASETS if lang == "zh" else EN_DATASETS))
        n_rows = rows or (300 if lang == "zh" else max(30, limit // 2))
        self.questions = load_questions(root, names, self.rng, per_set=max(4, limit // 30))
        maker = DocMaker()
        gold = frozenset(q.gold for q in self.questions)
        self.docs = [d for name in names
                     for d in sample_docs(root, name, lang, n_rows, self.rng, maker, gold)]
        self.contexts = Contexts(self.docs, self.rng)
        self.question_of = {q.gold: q.text for q in self.questions}
        prose: dict[str, list[Source]] = {}
        tables: list[Source] = []
        for doc in self.docs:
            if lang == "zh":
                found = list(zh_sources(doc, self.rng))
            else:
                found = list(en_sources(doc))
                tables.extend(row_sources(doc))
            prose.setdefault(doc.dataset, []).extend(found[:6])
        for group in prose.values():
            self.rng.shuffle(group)
        self.rng.shuffle(tables)
        self.prose = _interleave(list(prose.values()))
        self.tables = tables
        self.variants = Variants(lang, self.docs, self.prose, self.tables)

    def _case(self, src: Source, kind: str, truth: bool, claim: str, **extra: object) -> Case:
        passages, n = self.contexts.of(src.doc.dataset, src.doc.group, src.passage)
        fields: dict = {"cited": (n,), "question": self.question_of.get(src.doc.corpus_id, "")}
        fields.update(extra)
        return Case(self.lang, src.doc.dataset, kind, truth, claim, passages, n, **fields)

    def _row_claim(self, src: Source) -> RowClaim:
        assert src.row is not None
        form = self.rng.choice(("row", "cell", "sentence"))
        cols = value_cols(src.row)
        chosen = (self.rng.choice(cols),) if form != "row" and cols else ()
        return RowClaim(src.row, form if chosen or form == "row" else "row",
                        corner_of(src.passage.text), chosen)

    def _order(self, pool: Sequence[Source]) -> Iterator[Source]:
        """The pool in a fresh random order, taking the sets in turn: a set with many usable
        sentences (mtrag, covidqa) must not crowd out one with few (legal)."""
        by_set: dict[str, list[Source]] = {}
        for src in pool:
            by_set.setdefault(src.doc.dataset, []).append(src)
        for group in by_set.values():
            self.rng.shuffle(group)
        yield from _interleave(list(by_set.values()))

    def true_cases(self) -> list[Case]:
        out: list[Case] = []
        for kind, quota in _quotas(self.limit, TRUE_SHARES[self.lang]).items():
            made = 0
            pool = self.tables if kind == "table_row" else self.prose
            for src in self._order(pool):
                if made >= quota:
                    break
                claim: str | None = src.claim
                if kind == "table_row":
                    claim = render_row(self._row_claim(src))
                elif kind == "paraphrase":
                    claim = self.variants.paraphrase(src.claim, self.rng)
                if claim is None:
                    continue
                extra = {"cited": ()} if kind == "uncited" else {}
                out.append(self._case(src, kind, True, claim, **extra))
                made += 1
        return out

    def _base(self, src: Source) -> tuple[str, RowClaim | None]:
        """The true claim a corruption starts from: mostly verbatim, sometimes paraphrased."""
        if src.row is not None:
            row = self._row_claim(src)
            return render_row(row), row
        if self.rng.random() < 0.3:
            return self.variants.paraphrase(src.claim, self.rng) or src.claim, None
        return src.claim, None

    def _corruption_pool(self) -> list[Source]:
        if not self.tables:
            return list(self.prose)
        out: list[Source] = []
        tables = iter(self.tables)
        for i, src in enumerate(self.prose):
            out.append(src)
            if i % 4 == 3:
                out.extend(t for t in [next(tables, None)] if t is not None)
        return out

    def corrupted_cases(self) -> list[Case]:
        kinds = CORRUPT_KINDS
        quotas = _quotas(self.limit, {k: 1 / len(kinds) for k in kinds})
        out: list[Case] = []
        pool = self._corruption_pool()
        for kind in kinds:
            if kind == "echo":
                out.extend(self._echoes(quotas[kind]))
                continue
            made = 0
            for src in self._order(pool):
                if made >= quotas[kind]:
                    break
                case = self._corrupt(kind, src)
                if case is not None:
                    out.append(case)
                    made += 1
        return out

    def _corrupt(self, kind: str, src: Source) -> Case | None:
        base, row = self._base(src)
        if kind == "wrong_cite":
            passages, n = self.contexts.of(src.doc.dataset, src.doc.group, src.passage)
            wrong = self.variants.wrong_passage(base, passages, n, self.rng)
            if wrong is None:
                return None
            return self._case(src, kind, False, base, cited=(wrong,), wrong=wrong, origin=base)
        if kind == "fragment":
            piece = self.variants.fragment(base, self.rng)
            return None if piece is None else self._case(src, kind, False, piece, origin=base)
        if kind == "repetition":
            earlier = self.variants.repeat(base, self.rng)
            return self._case(src, kind, False, base, earlier=(earlier,), origin=base)
        change: Corruption | None = self.variants.corrupt(kind, src, base, row, self.rng,
                                                          src.doc.dataset in MEDICAL)
        if change is None or change.claim == base:
            return None
        return self._case(src, kind, False, change.claim, origin=base, old=change.old,
                          new=change.new)

    def _echoes(self, quota: int) -> list[Case]:
        out: list[Case] = []
        docs = {d.corpus_id: d for d in self.docs}
        questions: list[Question] = list(self.questions)
        self.rng.shuffle(questions)
        for q in questions:
            doc = docs.get(q.gold)
            if doc is None or not doc.passages:
                continue
            passage = self.variants.best_passage(doc, q)
            src = Source(doc, passage, "", "")
            for echo in self.variants.echoes(q, passage, self.rng):
                if len(out) < quota:
                    out.append(self._case(src, "echo", False, echo, question=q.text,
                                          origin=q.text))
        return out


def build_cases(lang: str, limit: int = 450, seed: int = 13, root: Path = EVALSETS,
                datasets: Sequence[str] | None = None, rows: int | None = None,
                progress: Callable[[str], None] | None = None) -> list[Case]:
    """``limit`` true and ``limit`` corrupted claims in ``lang`` ("en" or "zh"), seeded."""
    builder = Builder(lang, limit, seed, root, datasets, rows)
    if progress:
        progress(f"{lang}: {len(builder.docs)} documents, {len(builder.prose)} sentences, "
                 f"{len(builder.tables)} table rows")
    return builder.true_cases() + builder.corrupted_cases()
