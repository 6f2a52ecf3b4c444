"""Users' ratings turned into training data: rated-up answers to imitate, rated-down ones to avoid.

Each rated turn comes with the passages its answer was written from (``app.feedback``), so
it becomes exactly the prompt the answerer sends, as every grounded example does:

- **rated up**: a grounded example (supervised) with the answer as given; a refusal rated up
  teaches the refusal. Clarifying questions are left out: they are not answers to imitate.
- **rated down**: a preference pair (DPO, ``finetune.objective``) on the same prompt. Rejected:
  the answer as given. Chosen: an answer rated up on the very same prompt (same question,
  same passages) when there is one, else the pack's refusal: in a field where a wrong answer
  is worse than none, "the documents do not say" is what the assistant should have said
  rather than something a user rejected. A refusal rated down with no better answer on that
  prompt is left out: nothing says what should have been answered instead.

The user's comment travels with the pair (``comment``) for whoever reviews the file; it is not
trained on. Repeats (same question, passages and reply) are kept once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from domains.pack import Pack
from finetune.formats import (
    GroundedExample,
    GroundedPreference,
    cited_numbers,
    language,
    write_rows,
)
from finetune.make_data import SourceChunk, grounded_passage
from knowledge.store.repository import ChunkSource
from verirag.errors import TrainingDataError


class RatedTurnLike(Protocol):
    """What a rated turn must carry (``app.feedback.RatedTurn``)."""

    turn_id: int
    question: str
    passages: tuple[ChunkSource, ...]
    answer: str
    decision: str
    rating: int
    comment: str


class RatedTurnsLike(Protocol):
    """An export of rated turns (``app.feedback.RatedTurns``)."""

    turns: Sequence[RatedTurnLike]
    sources_gone: int


@dataclass
class FeedbackData:
    rows: list[dict[str, Any]] = field(default_factory=list)  # JSONL objects, formats.py's
    examples: int = 0  # rated up -> supervised
    pairs: int = 0  # rated down -> preference
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> turns

    def skip(self, reason: str) -> None:
        self.left_out[reason] = self.left_out.get(reason, 0) + 1


def _key(turn: RatedTurnLike) -> tuple[str, tuple[int, ...]]:
    """Turns on the same prompt: the same question (case and spacing aside), same passages."""
    question = re.sub(r"\s+", " ", turn.question).strip().casefold()
    return question, tuple(p.chunk_id for p in turn.passages)


def _grounded(turn: RatedTurnLike, pack: Pack) -> GroundedExample | str:
    """The turn's reply as a grounded example, or why it cannot be one."""
    passages = tuple(grounded_passage(SourceChunk(p.doc_name, p.text, p.heading_path, p.page))
                     for p in turn.passages)
    if not passages:
        return "no passages were found for it (nothing to ground an example in)"
    answer = turn.answer.strip()
    if answer == pack.refusal_for(language(turn.question)):
        return GroundedExample(turn.question, passages, None, answerable=False)
    cited = cited_numbers(answer)
    if turn.decision != "answer" or not cited or max(cited) > len(passages):
        return "neither a cited answer nor the refusal (e.g. a clarifying question)"
    return GroundedExample(turn.question, passages, answer)


def feedback_data(turns: Sequence[RatedTurnLike], pack: Pack) -> FeedbackData:
    out, seen = FeedbackData(), set()
    liked: dict[tuple[str, tuple[int, ...]], GroundedExample] = {}
    for turn in turns:
        ex = _grounded(turn, pack)
        if turn.rating > 0 and isinstance(ex, GroundedExample) and ex.answerable:
            liked.setdefault(_key(turn), ex)
    for turn in turns:
        ex = _grounded(turn, pack)
        if isinstance(ex, str):
            out.skip(ex)
            continue
        if turn.rating > 0:
            row = ex.to_json()
        else:
            better = liked.get(_key(turn))
            chosen = better or GroundedExample(ex.question, ex.passages, None, answerable=False)
            if chosen.reply(pack) == ex.reply(pack):
                out.skip("a refusal rated down, with no answer rated up on the same prompt")
                continue
            row = GroundedPreference(chosen, ex).to_json(pack)
            if turn.comment.strip():
                row["comment"] = turn.comment.strip()
        fingerprint = json.dumps({k: v for k, v in row.items() if k != "comment"},
                                 sort_keys=True, ensure_ascii=False)
        if fingerprint in seen:
            out.skip("a repeat of another rated turn")
            continue
        seen.add(fingerprint)
        out.rows.append(row | {"turn_id": turn.turn_id})
        if turn.rating > 0:
            out.examples += 1
        else:
            out.pairs += 1
    return out


def write_feedback(rated: RatedTurnsLike, pack: Pack, path: Path) -> FeedbackData:
    """The training file of an export (see the module docstring), or a TrainingDataError
    saying why there is nothing to train on yet."""
    data = feedback_data(rated.turns, pack)
    if rated.sources_gone:
        data.left_out["passages deleted since or no longer ready"] = rated.sources_gone
    if not data.rows:
        raise TrainingDataError(f"no usable rated answers in '{pack.name}' yet "
                                f"({len(rated.turns)} rated turns with their passages); rate "
                                "answers in the chat with the thumbs first")
    write_rows(data.rows, path)
    return data


def headline(data: FeedbackData) -> str:
    """What went into the file."""
    return (f"{data.examples} answers rated up (supervised) and {data.pairs} rated down "
            "(preference pairs)")


def describe_feedback(data: FeedbackData) -> str:
    """One line for a person: what went in and what was left out."""
    left = "; ".join(f"left out {n}: {why}" for why, n in data.left_out.items())
    return headline(data) + (f" ({left})" if left else "")
