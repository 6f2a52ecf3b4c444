"""The SQL source of truth: knowledge bases, documents and chunks (SQLAlchemy 2.0 ORM)."""

from knowledge.store.db import make_engine, session_factory
from knowledge.store.models import Base, ChunkRow, DocumentRow, KnowledgeBaseRow

__all__ = ["Base", "ChunkRow", "DocumentRow", "KnowledgeBaseRow", "make_engine", "session_factory"]
