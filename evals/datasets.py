"""Evaluation datasets: parsing the two on-disk formats, and a seeded sample of questions.

Formats (DESIGN.md, "Evaluation data format"):

- a folder with ``corpus.jsonl`` (``{"id","title","text","source",...}``) and
  ``questions.jsonl`` holding single-turn lines ``{"id","question","answer","gold_ids"}`` or
  multi-turn lines ``{"id","turns":[{"question","answer","gold_ids","scored"?}, ...]}``;
  ``gold_ids`` null marks an unannotated history turn, ``[]`` an unanswerable one, and
  ``"answerable": false`` (or ``"answerability": "UNANSWERABLE"``) says so explicitly;
- a pack's own ``eval/questions.jsonl`` (``{"question","answer","doc","evidence",
  "answerable"?}``), whose corpus is the pack's ``docs/`` folder and whose gold id is the
  document's file name.

A malformed line fails the whole load with the file, the line number and the reason: a
silently skipped question would change every metric without anyone noticing. Left out:
streaming very large files (the public sets here are a few MB).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evals.errors import EvalDataError
from verirag.jsonl import read_objects

CORPUS_FILE = "corpus.jsonl"
QUESTIONS_FILE = "questions.jsonl"
PACK_DATASET = "pack"
# Answers made of one of these words form a closed label set, scored by label accuracy.
LABELS = ("yes", "no", "maybe")
# Turns marked like this are small talk ("Thank you!"): no gold passage, yet not a refusal case.
_CONVERSATIONAL = "CONVERSATIONAL"


@dataclass(frozen=True)
class CorpusDoc:
    """One passage of a dataset's corpus; ``id`` becomes the indexed document's name."""

    id: str
    text: str
    title: str = ""
    source: str = ""


@dataclass(frozen=True)
class Turn:
    """One question to ask, with what a correct answer looks like.

    ``answers`` holds every reference answer (the first is the main one); ``gold_ids`` is None
    when no passage was annotated, empty when the question has no answer in the corpus.
    """

    question: str
    answers: tuple[str, ...]
    gold_ids: tuple[str, ...] | None
    answerable: bool
    scored: bool

    @property
    def label(self) -> str | None:
        """The gold label when the main answer is one of ``LABELS`` (case-insensitive)."""
        if not self.answers:
            return None
        word = self.answers[0].strip().strip(".").lower()
        return word if word in LABELS else None


@dataclass(frozen=True)
class EvalItem:
    """A question (one turn) or a dialog (several turns, earlier ones become history)."""

    id: str
    turns: tuple[Turn, ...]
    multi_turn: bool = False


@dataclass
class Dataset:
    """Questions plus either an explicit corpus or a folder of documents (a pack's ``docs``)."""

    name: str
    questions_path: Path
    items: list[EvalItem]
    corpus: list[CorpusDoc] | None = None
    docs_dir: Path | None = None
    corpus_path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def multi_turn(self) -> bool:
        return any(item.multi_turn for item in self.items)

    @property
    def n_units(self) -> int:
        """Scored turns: the questions that are actually asked and measured."""
        return sum(1 for item in self.items for turn in item.turns if turn.scored)

    def sample(self, limit: int | None, seed: int) -> Dataset:
        """``limit`` items chosen by ``random.Random(seed)``, kept in file order.

        The same seed gives the same questions on every machine and Python version
        (``Random.sample`` over a range is stable), so two runs are comparable.
        """
        if limit is None or limit >= len(self.items):
            return self
        if limit < 1:
            raise EvalDataError(f"--limit must be at least 1, got {limit}")
        chosen = sorted(random.Random(seed).sample(range(len(self.items)), limit))
        return replace(self, items=[self.items[i] for i in chosen])


# -- reading JSONL -------------------------------------------------------------------------
def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; anything else is an EvalDataError."""
    return read_objects(path, EvalDataError)


class _Line:
    """Typed access to one JSONL object; every complaint names the file and line."""

    def __init__(self, path: Path, number: int, obj: dict[str, Any]) -> None:
        self.path, self.number, self.obj = path, number, obj

    def error(self, reason: str) -> EvalDataError:
        return EvalDataError(f"{self.path}:{self.number}: {reason}")

    def text(self, key: str, *, required: bool = True, where: str = "") -> str:
        value = self.obj.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            shown = "missing" if value is None else repr(value)[:60]
            raise self.error(f"{where}'{key}' must be a non-empty string ({shown})")
        return value


def _answers(line: _Line, obj: dict[str, Any], where: str) -> tuple[str, ...]:
    """The main answer plus any ``answers_all`` alternatives, deduplicated, in order."""
    raw = obj.get("answer")
    if raw is None:
        main: list[str] = []
    elif isinstance(raw, str):
        main = [raw] if raw.strip() else []
    elif isinstance(raw, list) and all(isinstance(a, str) for a in raw):
        main = list(raw)
    else:
        raise line.error(f"{where}'answer' must be a string or a list of strings")
    extra = obj.get("answers_all") or []
    if not isinstance(extra, list) or not all(isinstance(a, str) for a in extra):
        raise line.error(f"{where}'answers_all' must be a list of strings")
    return tuple(dict.fromkeys(a for a in [*main, *extra] if a.strip()))


def _gold_ids(line: _Line, obj: dict[str, Any], where: str) -> tuple[str, ...] | None:
    raw = obj.get("gold_ids")
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(g, str) and g for g in raw):
        raise line.error(f"{where}'gold_ids' must be a list of corpus ids or null, "
                         f"not {json.dumps(raw)[:60]}")
    return tuple(dict.fromkeys(raw))


def _answerable(line: _Line, obj: dict[str, Any], gold: tuple[str, ...] | None,
                where: str) -> bool:
    flag = obj.get("answerable")
    if flag is not None and not isinstance(flag, bool):
        raise line.error(f"{where}'answerable' must be true or false, not {flag!r}")
    label = str(obj.get("answerability") or "").upper()
    if flag is False or label == "UNANSWERABLE":
        return False
    return not (gold == () and label != _CONVERSATIONAL and flag is None)


def _turn(line: _Line, obj: dict[str, Any], where: str = "") -> Turn:
    sub = _Line(line.path, line.number, obj)
    question = sub.text("question", where=where)
    gold = _gold_ids(line, obj, where)
    scored = obj.get("scored", gold is not None)
    if not isinstance(scored, bool):
        raise line.error(f"{where}'scored' must be true or false, not {scored!r}")
    return Turn(question, _answers(line, obj, where), gold,
                _answerable(line, obj, gold, where), scored)


def _pack_turn(line: _Line) -> Turn:
    """A line of a pack's ``eval/questions.jsonl``: the gold id is the ``doc`` file name."""
    obj = line.obj
    doc = obj.get("doc")
    if doc is not None and (not isinstance(doc, str) or not doc):
        raise line.error(f"'doc' must be a document file name or null, not {doc!r}")
    flag = obj.get("answerable", doc is not None)
    if not isinstance(flag, bool):
        raise line.error(f"'answerable' must be true or false, not {flag!r}")
    gold: tuple[str, ...] = (doc,) if doc and flag else ()
    return Turn(line.text("question"), _answers(line, obj, ""), gold, flag, True)


def parse_item(line: _Line) -> EvalItem:
    """One questions.jsonl line in any of the three shapes (multi-turn, DESIGN, pack)."""
    obj = line.obj
    item_id = obj.get("id", f"line-{line.number}")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or not str(item_id):
        raise line.error(f"'id' must be a string, not {item_id!r}")
    if "turns" in obj:
        turns = obj["turns"]
        if not isinstance(turns, list) or not turns:
            raise line.error("'turns' must be a non-empty list of {question, answer, gold_ids}")
        parsed = []
        for i, turn in enumerate(turns, 1):
            if not isinstance(turn, dict):
                raise line.error(f"turn {i}: expected an object, got {type(turn).__name__}")
            parsed.append(_turn(line, turn, where=f"turn {i}: "))
        return EvalItem(str(item_id), tuple(parsed), multi_turn=True)
    if "doc" in obj and "gold_ids" not in obj:
        return EvalItem(str(item_id), (_pack_turn(line),))
    return EvalItem(str(item_id), (_turn(line, obj),))


def read_questions(path: Path, known: set[str] | None = None, where: str = "") -> list[EvalItem]:
    """Parse ``path``; with ``known``, every gold id must be one of them (named by ``where``).

    An unknown gold id would silently cap recall below 1, so it fails like a malformed line.
    """
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, obj in _lines(path):
        line = _Line(path, number, obj)
        item = parse_item(line)
        if item.id in seen:
            raise line.error(f"id '{item.id}' repeats line {seen[item.id]}; ids must be unique")
        if known is not None:
            missing = [g for t in item.turns for g in t.gold_ids or () if g not in known]
            if missing:
                raise line.error(f"gold id '{missing[0]}' is not in {where}")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise EvalDataError(f"{path}: no questions found")
    return items


def read_corpus(path: Path) -> list[CorpusDoc]:
    docs: list[CorpusDoc] = []
    seen: dict[str, int] = {}
    for number, obj in _lines(path):
        line = _Line(path, number, obj)
        doc = CorpusDoc(line.text("id"), line.text("text"), line.text("title", required=False),
                        str(obj.get("source") or ""))
        if doc.id in seen:
            raise line.error(f"id '{doc.id}' repeats line {seen[doc.id]}; ids must be unique")
        seen[doc.id] = number
        docs.append(doc)
    if not docs:
        raise EvalDataError(f"{path}: the corpus is empty")
    return docs


# -- finding a dataset ---------------------------------------------------------------------
def load_dataset(spec: str | Path, pack_root: Path) -> Dataset:
    """Load ``spec``: a dataset folder, a pack eval folder, or ``"pack"`` (the DOMAIN pack's).

    A folder without ``corpus.jsonl`` holds pack-format questions; its documents are the
    ``docs/`` folder of the pack it sits in, else the DOMAIN pack's (``pack_root``).
    """
    folder = pack_root / "eval" if str(spec) == PACK_DATASET else Path(spec).expanduser()
    if folder.is_file() and folder.name == QUESTIONS_FILE:
        folder = folder.parent
    if not folder.is_dir():
        raise EvalDataError(f"dataset folder {folder} does not exist; pass a folder holding "
                            f"{QUESTIONS_FILE} (and {CORPUS_FILE}), or --dataset pack")
    questions = folder / QUESTIONS_FILE
    name = folder.name if str(spec) != PACK_DATASET else f"{pack_root.name}-pack"
    corpus_path = folder / CORPUS_FILE
    if corpus_path.is_file():
        corpus = read_corpus(corpus_path)
        items = read_questions(questions, {d.id for d in corpus}, corpus_path.name)
        return Dataset(name, questions, items, corpus=corpus, corpus_path=corpus_path)
    owner = folder.parent if (folder.parent / "pack.toml").is_file() else pack_root
    docs_dir = owner / "docs"
    if not docs_dir.is_dir():
        raise EvalDataError(f"{folder} has no {CORPUS_FILE} and {docs_dir} does not exist; add "
                            "a corpus or point --dataset at a pack's eval folder")
    if name == "eval":
        name = f"{owner.name}-pack"
    known = {p.name for p in docs_dir.rglob("*") if p.is_file()}
    items = read_questions(questions, known, str(docs_dir))
    return Dataset(name, questions, items, docs_dir=docs_dir)
