"""The SQL source of truth: knowledge bases, documents and chunks (SQLAlchemy 2.0 ORM).

Every query on these tables is a method of :class:`KnowledgeRepository`.
"""

from knowledge.store.db import make_engine, session_factory
from knowledge.store.models import Base, ChunkRow, DocumentRow, KnowledgeBaseRow
from knowledge.store.repository import KnowledgeRepository

__all__ = ["Base", "ChunkRow", "DocumentRow", "KnowledgeBaseRow", "KnowledgeRepository",
           "make_engine", "session_factory"]
