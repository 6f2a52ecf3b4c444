"""Rated answers read back for training: what ``verirag finetune feedback-data`` exports.

A rated turn is only useful with the passages its answer was written from, in the order its
``[n]`` markers count them; they are read from the knowledge base as it is now, so a turn
whose passages were deleted since (or whose documents are no longer ready) is left out and
counted, never trained on with text the answer did not see. The turns hold users' questions,
so exporting them takes the pack's admin role, and every export is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.principal import Principal
from app.services import Runtime
from knowledge.store.repository import ChunkSource


@dataclass(frozen=True)
class RatedTurn:
    turn_id: int
    question: str  # the standalone question the answer was for (a follow-up, rewritten)
    passages: tuple[ChunkSource, ...]  # numbered as the answer's [n] count them
    answer: str
    decision: str  # answer / refuse / clarify
    rating: int  # 1 up, -1 down
    comment: str


@dataclass(frozen=True)
class RatedTurns:
    turns: list[RatedTurn]
    sources_gone: int  # rated turns left out: a passage was deleted or is no longer ready


def rated_turns(rt: Runtime, pack: str, *, actor: str,
                principal: Principal | None = None) -> RatedTurns:
    """Every rated turn of ``pack`` with its passages; ``principal`` must be its admin."""
    if principal is not None:
        principal.require(pack, "adapters")
    rows = rt.sessions.rated_turns(pack)
    ids = [int(i) for r in rows for i in r.retrieved_chunk_ids or []]
    ready = {p.chunk_id: ChunkSource(p.chunk_id, p.doc_name, p.text, p.heading_path, p.page)
             for p, _labels in rt.resources.kb(pack).repo.ready_passages(ids)}
    turns, gone = [], 0
    for r in rows:
        chunk_ids = [int(i) for i in r.retrieved_chunk_ids or []]
        if any(i not in ready for i in chunk_ids):
            gone += 1
            continue
        turns.append(RatedTurn(r.id, r.query or r.question, tuple(ready[i] for i in chunk_ids),
                               r.answer, r.decision, r.feedback, r.feedback_comment))
    rt.audit.record(actor, "feedback_export", pack, turns=len(turns), sources_gone=gone)
    return RatedTurns(turns, gone)
