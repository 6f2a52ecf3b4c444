"""Conversations as the chat page shows them: one view of a turn, live or resumed from SQL.

A turn answered a moment ago comes as a ``TurnResult`` with the full passages; a turn of a
resumed session comes back from ``chat_turns`` with only citation records (chunk ids). Both
become a ``TurnView`` here, so the page renders one shape and a resumed conversation looks
exactly like the live one — the cited passage texts are read back from the knowledge base by
chunk id, and a passage whose document was deleted since says so instead of vanishing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from app.audit import AuditLog
from app.auth.principal import Principal
from app.dialog.manager import TurnResult
from app.dialog.records import ChatSessionRow, TurnRow
from app.dialog.sessions import SessionStore
from app.dialog.state import DialogState
from domains.pack import Pack
from knowledge.store.repository import KnowledgeRepository
from knowledge.text.language import text_language
from verirag.errors import AuthError

GONE = "(this passage is no longer in the knowledge base: its document was deleted)"
WITHHELD = ("(this passage is withheld: its document now carries an access label you are not "
            "cleared for)")
ANSWER_WITHHELD = ("(this answer is withheld: it cites a document you are no longer cleared "
                   "for)")


@dataclass(frozen=True)
class CitationView:
    n: int
    doc_name: str
    location: str
    score: float
    text: str
    supports: tuple[tuple[str, str], ...] = ()
    """(answer sentence, the passage sentence or row that supports it) for each sentence
    citing this passage."""
    chunk_id: int = 0
    """The stored passage (opens its page in the source viewer)."""


@dataclass(frozen=True)
class TurnView:
    turn_id: int
    question: str
    decision: str
    mode: str
    answer: str
    citations: list[CitationView] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    disclaimer: str = ""
    query: str = ""
    rewrite_reason: str = ""
    slots_changed: str = ""
    timings: str = ""
    feedback: int = 0
    feedback_comment: str = ""
    draft: str = ""
    """The model's unchecked draft (live turns only): shown in the detail view, labelled."""


@dataclass(frozen=True)
class SlotView:
    """A dialog slot for the side panel: its value, and when and how it was set.

    ``how`` is the slot value's ``rule`` / ``model`` / ``user``; the page words it in the
    reader's language, as it picks ``description`` or ``description_zh``.
    """

    name: str
    description: str
    description_zh: str
    value: str
    turn: int
    how: str


@dataclass(frozen=True)
class SessionChoice:
    id: str
    title: str
    updated_at: datetime

    @property
    def label(self) -> str:
        return f"{self.updated_at:%Y-%m-%d %H:%M} · {self.title or '(no question yet)'}"[:90]


def _timings(retrieval_s: float, first_token_s: float | None,
             tokens_per_s: float | None) -> str:
    text = f"retrieval {retrieval_s * 1000:.0f} ms"
    if first_token_s is not None:
        text += f" · first token {first_token_s:.2f} s · {tokens_per_s or 0:.1f} tokens/s"
    return text


def from_result(result: TurnResult) -> TurnView:
    """The view of a turn just answered (passages in hand)."""
    a = result.answer
    t = a.timings
    return TurnView(
        turn_id=result.turn_id, question=a.question, decision=a.decision, mode=a.mode,
        answer=a.text,
        citations=[CitationView(n, p.doc_name, p.location, p.score, p.text,
                                tuple((s.text, s.evidence) for s in a.sentences
                                      if n in s.citations), p.chunk_id)
                   for n, p in a.cited_passages()],
        draft=a.raw_output,
        removed=list(a.removed_sentences), disclaimer=a.disclaimer, query=result.rewrite.query,
        rewrite_reason=result.rewrite.reason, slots_changed=result.slots.describe(),
        timings=_timings(t.retrieval_s, t.first_token_s, t.tokens_per_s))


def _cited_text(texts: dict[int, str | None], chunk_id: int) -> str:
    if chunk_id not in texts:
        return GONE
    return texts[chunk_id] or WITHHELD


def from_row(row: TurnRow, texts: dict[int, str | None], pack: Pack) -> TurnView:
    """The view of a stored turn; ``texts`` holds the cited passages' text by chunk id (None:
    withheld from this reader)."""
    citations = [CitationView(int(c["n"]), str(c["doc_name"]), str(c.get("location") or ""),
                              float(c.get("score") or 0.0),
                              _cited_text(texts, int(c["chunk_id"])),
                              tuple((str(a), str(b)) for a, b in c.get("supports") or []),
                              int(c["chunk_id"]))
                 for c in row.citations or []]
    disclaimer = (pack.disclaimer_for(text_language(row.question))
                  if pack.disclaimer_required and row.decision == "answer" else "")
    withheld = any(c.text == WITHHELD for c in citations)
    return TurnView(
        turn_id=row.id, question=row.question, decision=row.decision, mode=row.mode,
        answer=ANSWER_WITHHELD if withheld else row.answer, citations=citations,
        removed=list(row.removed_sentences or []),
        disclaimer=disclaimer, query=row.query, rewrite_reason=row.rewrite_reason,
        timings=_timings(row.retrieval_s, row.first_token_s, row.tokens_per_s),
        feedback=row.feedback, feedback_comment=row.feedback_comment)


def load_turns(store: SessionStore, engine: Engine, session_id: str, pack: Pack,
               principal: Principal | None = None) -> list[TurnView]:
    """Every turn of a stored conversation, oldest first, ready to show.

    With a ``principal``: only their own conversation, and only the passages they are
    cleared for today (a document relabelled since is withheld, not shown as it was).
    """
    clearance = None
    if principal is not None:
        principal.require(pack.name, "chat")
        if store.owner(session_id) != principal.name:
            raise AuthError(f"conversation {session_id} is not {principal.name}'s")
        clearance = principal.clearance(pack.name)
    rows = store.turns(session_id)
    ids = [int(c["chunk_id"]) for r in rows for c in r.citations or []]
    texts = KnowledgeRepository(engine, pack.name).cited_texts(ids, clearance)
    return [from_row(r, texts, pack) for r in rows]


def _short(description: str) -> str:
    """"fiscal year or period, e.g. 2023, FY2022" -> "fiscal year or period" (a narrow panel)."""
    return re.split(r"[,;(，；（]| e\.g\.", description, maxsplit=1)[0].strip() or description


def slot_views(state: DialogState, pack: Pack) -> list[SlotView]:
    """The slots of a conversation for the side panel, in the pack's slot order."""
    slots = {s.name: s for s in pack.slots}
    order = {s.name: i for i, s in enumerate(pack.slots)}
    views = []
    for name, v in sorted(state.slots.items(), key=lambda kv: order.get(kv[0], 99)):
        slot = slots.get(name)
        if slot is None:
            english = chinese = name
        else:
            english, chinese = (_short(slot.description_for(lang)) for lang in ("en", "zh"))
        views.append(SlotView(name, english, chinese, v.value, v.turn, v.how))
    return views


def session_choices(store: SessionStore, pack: str, user: str | None = None,
                    limit: int = 30, search: str = "") -> list[SessionChoice]:
    """Past conversations with this pack that have at least one turn, newest first; with a
    ``user``, only that user's; with ``search``, those whose title or a question holds it."""
    rows: list[ChatSessionRow] = store.list(pack=pack, user=user, limit=limit, search=search)
    return [SessionChoice(r.id, r.title, r.updated_at) for r in rows if r.title]


def _own(store: SessionStore, session_id: str, principal: Principal) -> None:
    if store.owner(session_id) != principal.name:
        raise AuthError(f"conversation {session_id} is not {principal.name}'s")


def rename_conversation(store: SessionStore, audit: AuditLog, session_id: str, title: str,
                        principal: Principal) -> str:
    """Give one's own conversation a title of one's choosing (the first question is the
    default)."""
    _own(store, session_id, principal)
    title = store.rename(session_id, title)
    audit.record(principal.name, "conversation_rename", store.pack_of(session_id),
                 session=session_id, title=title)
    return title


def delete_conversation(store: SessionStore, audit: AuditLog, session_id: str,
                        principal: Principal) -> str:
    """Delete one's own conversation; what was answered stays in the audit log."""
    _own(store, session_id, principal)
    pack = store.pack_of(session_id)
    title = store.delete(session_id)
    audit.record(principal.name, "conversation_delete", pack, session=session_id, title=title)
    return title
