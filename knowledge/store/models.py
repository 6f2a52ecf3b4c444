"""ORM rows for the knowledge layer.

A chunk's integer primary key is also its FAISS id, so ids must never be reused after a
delete (SQLite would reuse the highest rowid without AUTOINCREMENT): a reused id could make a
stale vector answer for a different passage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from knowledge.store.schema import JSON_TYPES, utcnow


class Base(DeclarativeBase):
    """The knowledge tables' own metadata (the app's tables have theirs; see ``schema``)."""

    type_annotation_map = JSON_TYPES


class KnowledgeBaseRow(Base):
    """One pack's knowledge base; ``revision`` increases with every committed change."""

    __tablename__ = "knowledge_bases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    embedder_id: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    documents: Mapped[list[DocumentRow]] = relationship(
        back_populates="kb", cascade="all, delete-orphan", passive_deletes=True
    )


class DocumentRow(Base):
    """An uploaded file, keyed by (knowledge base, sha256 of content)."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("kb_id", "sha256", name="uq_document_content"),
        Index("ix_documents_kb_name", "kb_id", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kb_id: Mapped[int] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="indexing")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(default=list)
    # Access labels (e.g. "restricted"): a reader sees the document only if cleared for all.
    labels: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    kb: Mapped[KnowledgeBaseRow] = relationship(back_populates="documents")
    chunks: Mapped[list[ChunkRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )


class ChunkRow(Base):
    """A citable passage; ``id`` is its FAISS id."""

    __tablename__ = "chunks"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    heading_path: Mapped[list[str]] = mapped_column(default=list)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    start: Mapped[int] = mapped_column(Integer, default=0)
    end: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default="paragraph")

    document: Mapped[DocumentRow] = relationship(back_populates="chunks")
