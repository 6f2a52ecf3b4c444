"""Every query on one pack's knowledge tables (its knowledge base row, documents and chunks).

The SQL rows are the truth the indexes are repaired from, so the rules that keep them
consistent are written here once instead of in each module that reads or writes documents:
only ``ready`` documents are visible to searches, every change that the indexes must follow
bumps the knowledge base's revision in the same transaction, and a document is keyed by its
content hash. The knowledge base, ingestion, retrieval, fine-tune data and stored
conversations all go through :class:`KnowledgeRepository`; none of them writes SQL on these
tables itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.store.db import session_factory
from knowledge.store.models import ChunkRow, DocumentRow, KnowledgeBaseRow
from knowledge.types import ChunkDraft, Passage
from verirag.errors import KnowledgeBaseError

# SQLite allows 999 bound parameters a statement; long id lists are read in slices below that.
_IN_BATCH = 900


@dataclass(frozen=True)
class ChunkSource:
    """A stored chunk with the document it belongs to: what is embedded, cited or trained on."""

    chunk_id: int
    doc_name: str
    text: str
    heading_path: tuple[str, ...]
    page: int | None


@dataclass(frozen=True)
class NewDocument:
    """A document about to be stored: its identity, file facts and the uploader's marks."""

    name: str
    sha256: str
    size: int
    mime: str
    meta: dict[str, Any]
    tags: list[str]
    labels: list[str]


@dataclass(frozen=True)
class Published:
    """What making a document ready changed: the revision, and the older versions it retired."""

    revision: int
    retired_chunk_ids: list[int]
    replaced: bool


class KnowledgeRepository:
    """The knowledge tables as seen by one pack; each method is one transaction."""

    def __init__(self, engine: Engine, pack: str) -> None:
        self.engine = engine
        self.pack = pack
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self._kb_id: int | None = None
        self._embedder_id = ""

    # -- the knowledge base row ------------------------------------------------------------
    def ensure(self, embedder_id: str) -> int:
        """The pack's knowledge base row id, creating the row on first use.

        ``embedder_id`` is recorded on every revision bump, so the row always names the
        embedder the saved vectors came from.
        """
        self._embedder_id = embedder_id
        with self.sessions.begin() as s:
            row = s.scalar(select(KnowledgeBaseRow).where(KnowledgeBaseRow.name == self.pack))
            if row is None:
                row = KnowledgeBaseRow(name=self.pack, embedder_id=embedder_id)
                s.add(row)
                s.flush()
            self._kb_id = row.id
            return row.id

    @property
    def kb_id(self) -> int:
        if self._kb_id is None:
            raise KnowledgeBaseError(
                f"the knowledge base row of '{self.pack}' is not loaded; call ensure() first")
        return self._kb_id

    def revision(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(KnowledgeBaseRow.revision)
                                .where(KnowledgeBaseRow.id == self.kb_id)) or 0)

    def bump_revision(self, s: Session | None = None) -> int:
        """Count one more committed change; inside ``s`` when it is part of a larger one."""
        if s is None:
            with self.sessions.begin() as own:
                return self.bump_revision(own)
        row = s.get(KnowledgeBaseRow, self.kb_id)
        if row is None:
            raise KnowledgeBaseError(f"knowledge base '{self.pack}' vanished from the DB")
        row.revision += 1
        row.embedder_id = self._embedder_id
        return row.revision

    # -- reading ---------------------------------------------------------------------------
    def ready_chunk_ids(self) -> set[int]:
        with self.sessions() as s:
            return set(s.scalars(select(ChunkRow.id).join(DocumentRow).where(*self._ready())))

    def chunk_ids(self, doc_ids: Iterable[int]) -> set[int]:
        """The chunks of these documents (the filter a restricted search runs on)."""
        with self.sessions() as s:
            return set(s.scalars(select(ChunkRow.id).where(ChunkRow.doc_id.in_(list(doc_ids)))))

    def chunk_sources(self, ids: Sequence[int]) -> dict[int, ChunkSource]:
        """Stored chunks by id, whatever their document's status (repair re-embeds these)."""
        out: dict[int, ChunkSource] = {}
        with self.sessions() as s:
            for start in range(0, len(ids), _IN_BATCH):
                part = list(ids[start:start + _IN_BATCH])
                for source in _sources(s, _source_select().where(ChunkRow.id.in_(part))):
                    out[source.chunk_id] = source
        return out

    def ready_chunk_sources(self) -> list[ChunkSource]:
        """Every chunk of the pack's ready documents, in document order."""
        with self.sessions() as s:
            return _sources(s, _source_select().where(*self._ready())
                            .order_by(DocumentRow.id, ChunkRow.ordinal))

    def document_chunks(self, doc_ids: Sequence[int]) -> dict[int, list[ChunkSource]]:
        """The chunks of these ready documents in document order, by document id: where the
        dialog reads a document's own statement of what it covers (its scope section)."""
        out: dict[int, list[ChunkSource]] = {}
        with self.sessions() as s:
            rows = s.execute(_source_select().add_columns(ChunkRow.doc_id)
                             .where(ChunkRow.doc_id.in_(list(doc_ids)), *self._ready())
                             .order_by(ChunkRow.doc_id, ChunkRow.ordinal))
            for cid, name, text, path, page, doc_id in rows:
                out.setdefault(doc_id, []).append(
                    ChunkSource(cid, name, text, tuple(path or ()), page))
        return out

    def document_facts(self, doc_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The document-level facts found at ingest (``meta``), by document id."""
        ids = list(doc_ids)
        if not ids:
            return {}
        with self.sessions() as s:
            rows = s.execute(select(DocumentRow.id, DocumentRow.meta)
                             .where(DocumentRow.id.in_(ids)))
            return {doc_id: dict(meta or {}) for doc_id, meta in rows}

    def ready_passages(self, ids: Sequence[int]) -> list[tuple[Passage, list[str]]]:
        """Chunks of ready documents as unscored passages, each with its document's labels.

        The labels come with the row actually read, so the caller's access check sees what
        is returned, not what was true when it computed its filter.
        """
        if not ids:
            return []
        with self.sessions() as s:
            rows = s.execute(
                select(ChunkRow, DocumentRow.name, DocumentRow.labels).join(DocumentRow)
                .where(ChunkRow.id.in_(list(ids)), *self._ready()))
            return [(Passage(chunk_id=c.id, doc_id=c.doc_id, doc_name=name, text=c.text,
                             heading_path=tuple(c.heading_path or ()), page=c.page, score=0.0,
                             start=c.start, end=c.end), list(labels or ()))
                    for c, name, labels in rows]

    def cited_texts(self, ids: Sequence[int], clearance: frozenset[str] | None = None,
                    ) -> dict[int, str | None]:
        """The text of chunks a stored conversation cites; deleted ones are simply absent.

        With a ``clearance``, a chunk whose document now carries a label outside it maps to
        None: a document relabelled after the conversation is withheld from it too.
        """
        if not ids:
            return {}
        with self.sessions() as s:
            rows = s.execute(
                select(ChunkRow.id, ChunkRow.text, DocumentRow.labels).join(DocumentRow)
                .join(KnowledgeBaseRow)
                .where(ChunkRow.id.in_(list(ids)), KnowledgeBaseRow.name == self.pack))
            return {cid: (text if clearance is None or set(labels or ()) <= clearance else None)
                    for cid, text, labels in rows}

    def documents(self) -> list[DocumentRow]:
        """Every document of the pack, whatever its status, oldest upload first."""
        with self.sessions() as s:
            return list(s.scalars(select(DocumentRow).where(DocumentRow.kb_id == self.kb_id)
                                  .order_by(DocumentRow.uploaded_at, DocumentRow.id)))

    def ready_documents(self) -> list[DocumentRow]:
        with self.sessions() as s:
            return list(s.scalars(select(DocumentRow).where(*self._ready())))

    def ready_document_count(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(DocumentRow)
                                .where(*self._ready())) or 0)

    # -- writing ---------------------------------------------------------------------------
    def find_content(self, sha256: str) -> str | None:
        """Name of a ready document with this content; a failed earlier try is cleared."""
        with self.sessions.begin() as s:
            doc = s.scalar(select(DocumentRow).where(DocumentRow.kb_id == self.kb_id,
                                                     DocumentRow.sha256 == sha256))
            if doc is None:
                return None
            if doc.status == "ready":
                return doc.name
            s.delete(doc)
            return None

    def ready_labels(self, name: str) -> list[str] | None:
        """The access labels of the ready document called ``name``; None when there is none."""
        with self.sessions() as s:
            labels = s.scalar(select(DocumentRow.labels).where(
                DocumentRow.kb_id == self.kb_id, DocumentRow.name == name,
                DocumentRow.status == "ready"))
        return None if labels is None else list(labels)

    def add_document(self, doc: NewDocument, drafts: Sequence[ChunkDraft]
                     ) -> tuple[int, list[int]]:
        """Store a document as ``indexing`` with its chunks; returns its id and the chunk ids.

        Not visible to searches until :meth:`publish`: a crash before that leaves a row the
        next open marks failed (:meth:`fail_interrupted`).
        """
        with self.sessions.begin() as s:
            row = DocumentRow(kb_id=self.kb_id, name=doc.name, sha256=doc.sha256, size=doc.size,
                              mime=doc.mime, status="indexing", tags=list(doc.tags),
                              labels=list(doc.labels), meta=dict(doc.meta))
            s.add(row)
            s.flush()
            chunks = [ChunkRow(doc_id=row.id, ordinal=i, text=d.text,
                               heading_path=list(d.heading_path), page=d.page, start=d.start,
                               end=d.end, kind=d.kind) for i, d in enumerate(drafts)]
            s.add_all(chunks)
            s.flush()
            return row.id, [c.id for c in chunks]

    def publish(self, doc_id: int, name: str, n_chunks: int) -> Published:
        """Make a document ready and retire older versions of the same name, atomically."""
        with self.sessions.begin() as s:
            doc = s.get(DocumentRow, doc_id)
            assert doc is not None
            doc.status = "ready"
            doc.chunk_count = n_chunks
            older = list(s.scalars(select(DocumentRow).where(
                DocumentRow.kb_id == self.kb_id, DocumentRow.name == name,
                DocumentRow.id != doc_id)))
            old_ids = list(s.scalars(select(ChunkRow.id).where(
                ChunkRow.doc_id.in_([d.id for d in older])))) if older else []
            for d in older:
                s.delete(d)
            revision = self.bump_revision(s)
        return Published(revision, old_ids, any(d.status == "ready" for d in older))

    def fail_document(self, doc_id: int, reason: str) -> None:
        """Keep a document that could not be indexed as ``failed``, without its chunks."""
        with self.sessions.begin() as s:
            s.execute(delete(ChunkRow).where(ChunkRow.doc_id == doc_id))
            doc = s.get(DocumentRow, doc_id)
            if doc is not None:
                doc.status, doc.error, doc.chunk_count = "failed", reason[:500], 0

    def fail_interrupted(self, reason: str) -> int:
        """Mark documents a dead process left ``indexing`` as failed; returns how many."""
        with self.sessions.begin() as s:
            stuck = list(s.scalars(select(DocumentRow).where(
                DocumentRow.kb_id == self.kb_id, DocumentRow.status == "indexing")))
            for doc in stuck:
                s.execute(delete(ChunkRow).where(ChunkRow.doc_id == doc.id))
                doc.status = "failed"
                doc.error = reason
                doc.chunk_count = 0
            if stuck:
                self.bump_revision(s)
            return len(stuck)

    def delete_document(self, doc_id: int) -> tuple[str, list[int], int]:
        """Delete a document and its chunks; returns its name, its chunk ids and the revision."""
        with self.sessions.begin() as s:
            doc = self._own_document(s, doc_id)
            name = doc.name
            ids = list(s.scalars(select(ChunkRow.id).where(ChunkRow.doc_id == doc_id)))
            s.delete(doc)
            return name, ids, self.bump_revision(s)

    def set_labels(self, doc_id: int, labels: list[str]) -> tuple[str, list[str]]:
        """Replace a document's access labels; returns its name and the labels it had."""
        with self.sessions.begin() as s:
            doc = self._own_document(s, doc_id)
            before = list(doc.labels or [])
            doc.labels = labels
            return doc.name, before

    # -- helpers ---------------------------------------------------------------------------
    def _ready(self) -> tuple[Any, ...]:
        """The condition every search-visible row meets: this pack's, and ready."""
        return DocumentRow.kb_id == self.kb_id, DocumentRow.status == "ready"

    def _own_document(self, s: Session, doc_id: int) -> DocumentRow:
        doc = s.get(DocumentRow, doc_id)
        if doc is None or doc.kb_id != self.kb_id:
            raise KnowledgeBaseError(
                f"no document with id {doc_id} in '{self.pack}' "
                f"(see `verirag kb show {self.pack}`)")
        return doc


def _source_select() -> Select[Any]:
    return (select(ChunkRow.id, DocumentRow.name, ChunkRow.text, ChunkRow.heading_path,
                   ChunkRow.page).join(DocumentRow))


def _sources(s: Session, query: Select[Any]) -> list[ChunkSource]:
    return [ChunkSource(cid, name, text, tuple(path or ()), page)
            for cid, name, text, path, page in s.execute(query)]
