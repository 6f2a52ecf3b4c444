"""RAFT examples from a dataset in the evaluation format (``corpus.jsonl`` + ``questions.jsonl``).

Each question with gold passages becomes a grounded example: its gold passage (cut to a
window around the answer, about the size of a served chunk) hidden among distractor passages
of other documents of the corpus, and a reply that quotes the sentence (or table line) stating
the reference answer, cited ``[n]``; with probability ``unanswerable`` the same question also
comes with distractors only and the refusal. A question whose answer is not stated in a gold
passage (a computed figure, a yes/no label) is left out and counted: a reply the passage does
not say would teach the model to invent.

**Never the sets you evaluate on**: ``exclude`` names evaluation sets (folders); their
questions (by id and by wording) and their gold passages are never used, not even as
distractors, and a sibling ``NAME-mini`` folder beside ``NAME`` is excluded automatically.
Documents (the part of a passage id before ``#``) are split between train and eval whole.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.formats import GroundedExample, GroundedPassage, language
from finetune.make_data import cite, split_documents
from finetune.questions import SENTENCE
from verirag.errors import TrainingDataError
from verirag.jsonl import read_objects

WINDOW = 1000  # characters of a gold passage kept around its answer


@dataclass
class Converted:
    train: list[GroundedExample] = field(default_factory=list)
    eval: list[GroundedExample] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)  # folders whose questions were kept out

    def skip(self, reason: str) -> None:
        self.left_out[reason] = self.left_out.get(reason, 0) + 1


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _read(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / name
    if not path.is_file():
        raise TrainingDataError(f"{folder} is not an evaluation-format dataset: {name} is "
                                "missing (see docs/evaluation.md)")
    return [obj for _, obj in read_objects(path, TrainingDataError)]


def _doc(passage_id: str) -> str:
    return passage_id.split("#", 1)[0]


def _quote(text: str, answer: str) -> tuple[str, str] | None:
    """(the sentence or line stating ``answer``, the window of ``text`` around it)."""
    want = _norm(answer)
    if len(want) < 2:
        return None
    pieces = [p.strip() for line in text.splitlines() for p in SENTENCE.split(line)]
    for piece in pieces:
        if want in _norm(piece) and len(piece) <= 400:
            at = text.find(piece)
            start = max(0, at - WINDOW // 2)
            start = text.rfind("\n", 0, start) + 1 if "\n" in text[:start] else start
            return piece, text[start:start + WINDOW].strip()
    return None


def _excluded(folders: Sequence[Path]) -> tuple[set[str], set[str], set[str]]:
    """(question ids, question wordings, passage ids) of the evaluation sets."""
    ids, wordings, passages = set(), set(), set()
    for folder in folders:
        for q in _read(folder, "questions.jsonl"):
            for turn in q.get("turns") or [q]:
                ids.add(str(q.get("id")))
                wordings.add(_norm(str(turn.get("question") or "")))
                passages.update(turn.get("gold_ids") or [])
    return ids, wordings, passages


def _siblings(folder: Path) -> list[Path]:
    mini = folder.with_name(f"{folder.name}-mini")
    return [mini] if mini.is_dir() and mini != folder else []


def convert(folder: Path, *, exclude: Sequence[Path] = (), distractors: int = 2,
            unanswerable: float = 0.2, eval_share: float = 0.1, seed: int = 0,
            limit: int | None = None) -> Converted:
    folder = Path(folder)
    out = Converted()
    kept_out = [*exclude, *_siblings(folder)]
    out.excluded = [str(p) for p in kept_out]
    bad_ids, bad_words, bad_passages = _excluded(kept_out)
    corpus = {str(d["id"]): d for d in _read(folder, "corpus.jsonl")
              if str(d.get("id")) not in bad_passages}
    usable = []
    for q in _read(folder, "questions.jsonl"):
        if "turns" in q:
            out.skip("a multi-turn conversation (train on single questions)")
            continue
        gold = [g for g in q.get("gold_ids") or [] if g in corpus]
        if str(q.get("id")) in bad_ids or _norm(str(q.get("question"))) in bad_words:
            out.skip("in an excluded evaluation set")
        elif not gold or len(gold) != len(q.get("gold_ids") or []):
            out.skip("no gold passage in the corpus (or one excluded)")
        elif (found := _quote(str(corpus[gold[0]]["text"]), str(q.get("answer") or ""))) is None:
            out.skip("the answer is not stated in its gold passage (computed, or a label)")
        else:
            usable.append((str(q["question"]), gold[0], found))
    train_docs, _eval_docs = split_documents(Counter(_doc(g) for _, g, _ in usable), eval_share,
                                             seed)
    rng = random.Random(seed)
    pools = {True: [i for i in corpus if _doc(i) in train_docs], False: list(corpus)}
    for question, gold_id, (sentence, window) in usable:
        in_train = _doc(gold_id) in train_docs
        pool = [i for i in rng.sample(pools[in_train], min(len(pools[in_train]), 8 * distractors))
                if _doc(i) != _doc(gold_id)][:distractors]
        passages = [_passage(corpus[i], str(corpus[i]["text"])[:WINDOW]) for i in pool]
        slot = rng.randrange(len(passages) + 1)
        passages.insert(slot, _passage(corpus[gold_id], window))
        lang = language(window)
        example = GroundedExample(question, tuple(passages), cite(sentence, slot + 1, lang),
                                  origin=_doc(gold_id))
        side = out.train if in_train else out.eval
        side.append(example)
        if pool and rng.random() < unanswerable:
            away = tuple(p for i, p in enumerate(passages) if i != slot)
            side.append(GroundedExample(question, away, None, answerable=False,
                                        origin=_doc(gold_id)))
    rng.shuffle(out.train)
    if limit:
        out.train = out.train[:limit]
    return out


def _passage(doc: dict[str, Any], text: str) -> GroundedPassage:
    return GroundedPassage(text.strip(), str(doc.get("title") or doc.get("id") or "")[:120])
