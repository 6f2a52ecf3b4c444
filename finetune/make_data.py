"""Grounded training examples from a pack's own indexed passages, with no hand-written data.

For each usable passage (a chunk of a ``ready`` document) it writes, RAFT-style, up to
``per_passage`` questions of different kinds (``finetune.questions``: its heading, a table
cell, a number, a definition, a yes/no about a stated rule; English or Chinese by the
passage's language), each as

- an **answerable** example: the passage hidden among ``distractors`` passages sampled from
  other documents, and a reply that quotes (or barely rewords) the sentence answering it,
  cited ``[n]`` to the passage's position;
- with probability ``unanswerable``, an **unanswerable** example: the same question with only
  distractors from other documents, whose reply is the pack's refusal.

No model is needed and a run is deterministic for a seed. The questions are plainer than what
people ask: the point is to teach the *behaviour* (answer from the numbered passages, quote,
cite, refuse when absent) on the institution's own text; hand-written examples
(``domains/*/finetune``) teach phrasing better, and all mix in one run. Examples asking the
same question of the same passage are kept once, and :func:`split` holds out whole documents,
so no passage of the eval file is ever trained on. Left out: paraphrasing with an LLM.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domains.pack import Pack
from finetune.formats import CITATION, GroundedExample, GroundedPassage, language, write_rows
from finetune.questions import Probe, heading_question, opening_sentences, probes, prose
from knowledge.kb import KnowledgeBase

_MIN_CHARS = 60  # of English prose; a Chinese character carries about three times as much


@dataclass(frozen=True)
class SourceChunk:
    doc_name: str
    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None

    @property
    def location(self) -> str:
        parts = [f"p. {self.page}"] if self.page is not None else []
        if self.heading_path:
            parts.append(" > ".join(self.heading_path))
        return ", ".join(parts)


def chunks_from_kb(kb: KnowledgeBase) -> list[SourceChunk]:
    """Every passage of the pack's ready documents, in document order."""
    return [SourceChunk(c.doc_name, c.text, c.heading_path, c.page)
            for c in kb.repo.ready_chunk_sources()]


def _long_enough(text: str) -> bool:
    body = prose(text)
    return len(body) >= (_MIN_CHARS // 3 if language(body) == "zh" else _MIN_CHARS)


def answer_sentences(text: str, max_chars: int = 320) -> list[str]:
    """The passage's opening sentences, up to ``max_chars``: the answer it supports best."""
    return opening_sentences(text, max_chars)


def cite(sentence: str, n: int, lang: str) -> str:
    """``sentence`` ending with its citation: ``... [2].`` / ``...[2]。``. Bracketed numbers the
    sentence already holds (a paper's references, "[10]") are taken out first: in a reply they
    would read as citations of passages that do not exist."""
    sentence = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s*" + CITATION.pattern, "", sentence))
    if lang == "zh":
        return sentence.rstrip("。！？.") + f"[{n}]。"
    end = sentence[-1] if sentence[-1] in ".!?" else "."
    return sentence.rstrip(".!?") + f" [{n}]{end}"


def question_for(chunk: SourceChunk, rng: random.Random) -> str:
    """The heading question (one of the templates, picked by ``rng``)."""
    return heading_question(chunk.doc_name, chunk.text, chunk.heading_path, rng.randrange(3))


def grounded_passage(chunk: SourceChunk) -> GroundedPassage:
    return GroundedPassage(chunk.text.strip(), chunk.doc_name, chunk.location)


def _pick(found: list[Probe], per_passage: int, rng: random.Random) -> list[Probe]:
    """Up to ``per_passage`` probes, one of each kind first (the kinds in random order)."""
    by_kind: dict[str, list[Probe]] = {}
    for p in found:
        by_kind.setdefault(p.kind, []).append(p)
    kinds = list(by_kind)
    rng.shuffle(kinds)
    picked: list[Probe] = []
    while len(picked) < per_passage and any(by_kind.values()):
        for kind in kinds:
            if by_kind[kind] and len(picked) < per_passage:
                picked.append(by_kind[kind].pop(rng.randrange(len(by_kind[kind]))))
    return picked


def make_examples(chunks: Sequence[SourceChunk], pack: Pack, *, distractors: int = 2,
                  unanswerable: float = 0.2, per_passage: int = 3, seed: int = 0,
                  limit: int | None = None, only: set[str] | None = None,
                  ) -> list[GroundedExample]:
    """Grounded examples (see the module docstring), shuffled, at most ``limit``; with
    ``only``, questions are asked about those documents' passages alone."""
    del pack  # the refusal is filled in from the pack when the examples are loaded
    rng = random.Random(seed)
    usable = [c for c in chunks if _long_enough(c.text) and answer_sentences(c.text)]
    if len({c.doc_name for c in usable}) < 2:
        return []
    out: list[GroundedExample] = []
    seen: set[tuple[str, str]] = set()
    for chunk in usable:
        if only is not None and chunk.doc_name not in only:
            continue
        others = [c for c in usable if c.doc_name != chunk.doc_name]
        lang = language(chunk.text)
        found = probes(chunk.doc_name, chunk.text, chunk.heading_path, rng.randrange(3))
        for probe in _pick(found, per_passage, rng):
            key = (re.sub(r"\s+", " ", probe.question).casefold(), chunk.text)
            if key in seen:
                continue
            seen.add(key)
            picked = rng.sample(others, min(distractors, len(others)))
            slot = rng.randrange(len(picked) + 1)
            passages = [grounded_passage(c) for c in picked]
            passages.insert(slot, grounded_passage(chunk))
            answer = " ".join(cite(s, slot + 1, lang) for s in probe.answer)
            if lang == "zh":
                answer = answer.replace(" ", "")
            out.append(GroundedExample(probe.question, tuple(passages), answer,
                                       origin=chunk.doc_name))
            if rng.random() < unanswerable:
                away = rng.sample(others, min(max(distractors, 1), len(others)))
                out.append(GroundedExample(probe.question,
                                           tuple(grounded_passage(c) for c in away), None,
                                           answerable=False, origin=chunk.doc_name))
    rng.shuffle(out)
    return out[:limit] if limit else out


def split_documents(docs: dict[str, int], eval_share: float, seed: int = 0,
                    ) -> tuple[set[str], set[str]]:
    """(train, eval) document names: a seeded choice of whole documents for eval, about
    ``eval_share`` of the weight (``docs``: name -> passages), at least one document when
    ``eval_share`` > 0 and never all of them."""
    names = sorted(docs)
    random.Random(seed).shuffle(names)
    target, held, weight = sum(docs.values()) * eval_share, set(), 0
    for name in names:
        if eval_share <= 0 or (held and weight >= target) or len(held) == len(names) - 1:
            break
        held.add(name)
        weight += docs[name]
    return set(names) - held, held


def train_and_eval(chunks: Sequence[SourceChunk], pack: Pack, *, eval_share: float,
                   seed: int = 0, **options: Any) -> tuple[list[GroundedExample],
                                                           list[GroundedExample]]:
    """Examples for training and for eval from disjoint documents: training examples never
    show an eval document's passage (not even as a distractor); eval examples may show
    training passages as distractors."""
    train_docs, eval_docs = split_documents(Counter(c.doc_name for c in chunks), eval_share,
                                            seed)
    train = make_examples([c for c in chunks if c.doc_name in train_docs], pack, seed=seed,
                          **options)
    held = make_examples(chunks, pack, seed=seed + 1, only=eval_docs, **options)
    return train, held


def write_jsonl(examples: Sequence[GroundedExample], path: Path) -> Path:
    return write_rows([e.to_json() for e in examples], path)
