"""Sessions, turns and audit rows in SQL: how a conversation is resumed and accounted for."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import sessionmaker

from app.dialog.audit_chain import append as append_audit
from app.dialog.records import ChatSessionRow, ThreadRow, TurnRow, utcnow
from app.dialog.rewrite import Rewrite
from app.dialog.state import DialogState
from app.dialog.types import Answer
from verirag.errors import VeriragError

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


class SessionNotFound(VeriragError, LookupError):
    """A session id that is malformed or names no stored conversation."""


def citation_records(answer: Answer) -> list[dict[str, Any]]:
    """Each cited passage, with the answer sentences it supports and the passage sentence
    or row that supports each (so a resumed conversation still shows what was checked)."""
    return [{"n": n, "chunk_id": p.chunk_id, "doc_id": p.doc_id, "doc_name": p.doc_name,
             "location": p.location, "score": p.score,
             "supports": [[s.text, s.evidence] for s in answer.sentences if n in s.citations]}
            for n, p in answer.cited_passages()]


class SessionStore:
    def __init__(self, engine: Engine) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def create(self, pack: str, user: str | None = None) -> str:
        session_id = uuid.uuid4().hex
        with self.sessions.begin() as s:
            s.add(ChatSessionRow(id=session_id, pack=pack, user=user,
                                 state=DialogState(pack).snapshot()))
        return session_id

    def _row(self, s: Any, session_id: str) -> ChatSessionRow:
        if not _SESSION_ID.match(session_id or ""):
            raise SessionNotFound(f"'{session_id[:40]}' is not a session id (32 hex characters); "
                                  "start a new conversation or pick one from the list")
        row = s.get(ChatSessionRow, session_id)
        if row is None:
            raise SessionNotFound(f"no conversation with id {session_id}; it may have been "
                                  "deleted — start a new one")
        return row

    def load(self, session_id: str) -> DialogState:
        with self.sessions() as s:
            return DialogState.from_snapshot(self._row(s, session_id).state)

    def owner(self, session_id: str) -> str | None:
        """The user who started the session (None for sessions started without a login)."""
        with self.sessions() as s:
            return self._row(s, session_id).user

    def pack_of(self, session_id: str) -> str:
        with self.sessions() as s:
            return self._row(s, session_id).pack

    def list(self, pack: str | None = None, user: str | None = None,
             limit: int = 50, search: str = "") -> list[ChatSessionRow]:
        """Newest first; ``search`` keeps those whose title or any question contains it."""
        with self.sessions() as s:
            q = select(ChatSessionRow).order_by(ChatSessionRow.updated_at.desc()).limit(limit)
            if pack:
                q = q.where(ChatSessionRow.pack == pack)
            if user is not None:
                q = q.where(ChatSessionRow.user == user)
            if search.strip():  # the typed text literally: "%" and "_" are not wildcards
                typed = re.sub(r"([\\%_])", r"\\\1", search.strip())
                pattern = f"%{typed}%"
                asked = select(TurnRow.session_id).where(
                    TurnRow.question.ilike(pattern, escape="\\"))
                q = q.where(ChatSessionRow.title.ilike(pattern, escape="\\")
                            | ChatSessionRow.id.in_(asked))
            return list(s.scalars(q))

    def rename(self, session_id: str, title: str) -> str:
        title = " ".join(title.split())[:200]
        if not title:
            raise VeriragError("the title is empty; type a few words that name the conversation")
        with self.sessions.begin() as s:
            self._row(s, session_id).title = title
        return title

    def delete(self, session_id: str) -> str:
        """Remove a conversation and its turns; its audit rows stay (the log is append-only)."""
        with self.sessions.begin() as s:
            row = self._row(s, session_id)
            title = row.title
            s.execute(delete(ThreadRow).where(ThreadRow.session_id == session_id))
            s.delete(row)
        return title

    def save_state(self, session_id: str, state: DialogState) -> None:
        """Store a state built without answering (a conversation replayed from a client)."""
        with self.sessions.begin() as s:
            self._row(s, session_id).state = state.snapshot()

    def session_for(self, fingerprint: str) -> str | None:
        """The session a stateless client's conversation so far continues: one that still
        exists and has not moved on since (else the client's history is no longer its own:
        an earlier message was edited, or an answer regenerated)."""
        with self.sessions() as s:
            row = s.get(ThreadRow, fingerprint)
            session = s.get(ChatSessionRow, row.session_id) if row is not None else None
            if row is None or session is None:
                return None
            last = DialogState.from_snapshot(session.state).last_turn
            return row.session_id if (last.index if last else 0) == row.turns else None

    def remember(self, fingerprint: str, session_id: str, turns: int) -> None:
        """Note that a conversation ending as ``fingerprint`` lives in ``session_id``, then
        ``turns`` turns long."""
        with self.sessions.begin() as s:
            s.merge(ThreadRow(fingerprint=fingerprint, session_id=session_id, turns=turns))

    def turns(self, session_id: str) -> list[TurnRow]:
        with self.sessions() as s:
            self._row(s, session_id)
            return list(s.scalars(select(TurnRow).where(TurnRow.session_id == session_id)
                                  .order_by(TurnRow.index)))

    def rated_turns(self, pack: str) -> list[TurnRow]:
        """Every turn of ``pack`` someone rated up or down, oldest first (training data)."""
        with self.sessions() as s:
            return list(s.scalars(select(TurnRow).join(ChatSessionRow)
                                  .where(ChatSessionRow.pack == pack, TurnRow.feedback != 0)
                                  .order_by(TurnRow.id)))

    def record_turn(self, session_id: str, state: DialogState, answer: Answer,
                    rewrite: Rewrite, *, model: str, adapter: str | None,
                    actor: str = "") -> int:
        """Store the turn and the new state, and append the audit row, in one transaction."""
        t = answer.timings
        total = t.retrieval_s + (t.generation_s or 0.0)
        with self.sessions.begin() as s:
            row = self._row(s, session_id)
            turn = TurnRow(
                session_id=session_id, index=state.turns[-1].index, question=answer.question,
                query=rewrite.query, rewrite_reason=rewrite.reason, decision=answer.decision,
                mode=answer.mode, answer=answer.text, citations=citation_records(answer),
                retrieved_chunk_ids=[p.chunk_id for p in answer.sources],
                removed_sentences=list(answer.removed_sentences),
                invalid_markers=answer.invalid_markers, state=state.snapshot(), model=model,
                adapter=adapter, retrieval_s=t.retrieval_s, first_token_s=t.first_token_s,
                tokens_per_s=t.tokens_per_s, total_s=total)
            s.add(turn)
            row.state = state.snapshot()
            row.updated_at = utcnow()
            if not row.title:
                row.title = answer.question[:120]
            s.flush()
            append_audit(s, actor or (row.user or ""), "answer", row.pack,
                         {"session": session_id, "turn": turn.index,
                          "question": answer.question, "query": rewrite.query,
                          "decision": answer.decision,
                          "retrieved_chunk_ids": turn.retrieved_chunk_ids,
                          "cited": [c["chunk_id"] for c in turn.citations],
                          "answer": answer.text, "model": model, "adapter": adapter,
                          "timings": asdict(t)})
            return turn.id

    def feedback(self, turn_id: int, value: int, comment: str = "", *, actor: str = "") -> None:
        """Store a reader's verdict on a turn (latest wins) and audit it.

        The turn keeps the current verdict for reporting; the audit row keeps every change,
        so a thumbs-down later turned up is still on record. The same verdict and comment
        sent again (a page redrawn, a pack switched) change nothing and record nothing.
        """
        if value not in (-1, 0, 1):
            raise VeriragError("feedback is -1 (thumbs down), 0 (none) or 1 (thumbs up)")
        comment = comment.strip()[:2000]
        with self.sessions.begin() as s:
            turn = s.get(TurnRow, turn_id)
            if turn is None:
                raise VeriragError(f"no turn with id {turn_id}")
            if (turn.feedback, turn.feedback_comment) == (value, comment):
                return  # nothing changed (a widget re-sent its value): no second record
            turn.feedback, turn.feedback_comment = value, comment
            row = self._row(s, turn.session_id)
            append_audit(s, actor or (row.user or ""), "feedback", row.pack,
                         {"session": row.id, "turn": turn.index, "turn_id": turn_id,
                          "value": value, "comment": comment})
