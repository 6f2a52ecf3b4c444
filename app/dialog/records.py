"""Conversation records in SQL: sessions, turns (with state, citations and timings), audit.

Own declarative base: these tables belong to the app, not the knowledge layer, but they live in
the same database and are migrated by the same machinery (see ``app.dialog.migrations``);
what every table set declares alike comes from ``knowledge.store.schema``.
The audit table is append-only: nothing in verirag updates or deletes its rows, and each row
is chained to the one before by hash (``app.dialog.audit_chain``), so an edit elsewhere shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from knowledge.store.schema import JSON_TYPES, Schema, utcnow

__all__ = ["SCHEMA", "AppBase", "AuditRow", "ChatSessionRow", "ThreadRow", "TurnRow", "utcnow"]


class AppBase(DeclarativeBase):
    type_annotation_map = JSON_TYPES


class ChatSessionRow(AppBase):
    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pack: Mapped[str] = mapped_column(String(64), index=True)
    user: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    turns: Mapped[list[TurnRow]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="TurnRow.index")


class TurnRow(AppBase):
    __tablename__ = "chat_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    rewrite_reason: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(32), default="")
    answer: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[Any]] = mapped_column(default=list)
    retrieved_chunk_ids: Mapped[list[Any]] = mapped_column(default=list)
    removed_sentences: Mapped[list[Any]] = mapped_column(default=list)
    invalid_markers: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model: Mapped[str] = mapped_column(String(256), default="")
    adapter: Mapped[str | None] = mapped_column(String(128), default=None)
    retrieval_s: Mapped[float] = mapped_column(Float, default=0.0)
    first_token_s: Mapped[float | None] = mapped_column(Float, default=None)
    tokens_per_s: Mapped[float | None] = mapped_column(Float, default=None)
    total_s: Mapped[float] = mapped_column(Float, default=0.0)
    feedback: Mapped[int] = mapped_column(Integer, default=0)
    feedback_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    session: Mapped[ChatSessionRow] = relationship(back_populates="turns")


class ThreadRow(AppBase):
    """A conversation as a stateless client (the HTTP API) sends it back: the fingerprint of
    its messages so far -> the stored session that holds its state (slots, awaited answer)."""

    __tablename__ = "chat_threads"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    """How many turns the session held when the conversation ended so: a session that has
    moved on since (the client edited an earlier message) is not continued."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditRow(AppBase):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    pack: Mapped[str] = mapped_column(String(64), default="", index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The hash chain (app.dialog.audit_chain): the previous row's hash and this row's.
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    row_hash: Mapped[str] = mapped_column(String(64), default="")


SCHEMA = Schema.beside(__file__, "dialog", "alembic_version_dialog", AppBase.metadata)
