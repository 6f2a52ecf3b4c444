"""Files -> a knowledge base: hash, dedupe, parse, redact, chunk, store, embed, index.

Each file is its own unit of work: a rejected or failing file is reported with a one-line
reason and leaves the knowledge base exactly as it was. Identical content is indexed once per
pack; a new version of a file (same name, new content) replaces the old version's chunks.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import delete, select

from knowledge.chunking import chunk_document
from knowledge.hashing import sha256_file
from knowledge.kb import KnowledgeBase, normalize_labels
from knowledge.loaders import load_document, supported_suffixes
from knowledge.loaders.text import parse_plain_text
from knowledge.redact import redact_document
from knowledge.store import ChunkRow, DocumentRow
from knowledge.types import Block, ChunkDraft, ParsedDocument
from verirag.errors import DocumentRejected

Outcome = Literal["indexed", "duplicate", "replaced", "rejected"]
CHECKPOINT_SECONDS = 30.0


@dataclass(frozen=True)
class FileResult:
    name: str
    outcome: Outcome
    reason: str = ""
    chunks: int = 0
    doc_id: int | None = None


@dataclass(frozen=True)
class TextDoc:
    """In-memory text to index under ``name`` (title becomes the top heading)."""

    name: str
    text: str
    title: str = ""

    def parsed(self) -> ParsedDocument:
        blocks = parse_plain_text(self.text)
        if self.title.strip():
            blocks = [Block("heading", self.title.strip(), level=1), *blocks]
        if not blocks:
            raise DocumentRejected(self.name, "no text found")
        return ParsedDocument(self.name, "text/plain", blocks)


@dataclass(frozen=True)
class _Marks:
    """What the uploader attaches to every document of one ingest: tags and access labels."""

    tags: list[str]
    labels: list[str]


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def summary(self) -> str:
        return (f"{self.count('indexed') + self.count('replaced')} indexed "
                f"({self.count('replaced')} new versions), {self.count('duplicate')} duplicate, "
                f"{self.count('rejected')} rejected")


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, and files under folders (recursive, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in rel.parts):
                    yield child
        else:
            yield path


class Ingestor:
    """Runs ingestion for one knowledge base under its writer lock."""

    def __init__(self, kb: KnowledgeBase, *, max_bytes: int) -> None:
        self.kb = kb
        self.max_bytes = max_bytes

    def ingest(self, paths: Iterable[Path], *, tags: list[str] | None = None,
               labels: list[str] | None = None, names: dict[Path, str] | None = None,
               on_file: Callable[[int, int, FileResult], None] | None = None) -> IngestReport:
        """Ingest files; ``names`` gives display names for temp files (uploads).

        ``labels`` (e.g. ``restricted``) limit who may read the documents: a reader sees them
        only when cleared for every label (``Filters.clearance``).
        """
        files = list(iter_files(paths))
        marks = _Marks(tags or [], normalize_labels(labels))
        report = IngestReport()
        with self.kb.writing():
            last_save = time.monotonic()
            dirty = False
            for i, path in enumerate(files, 1):
                name = (names or {}).get(path, path.name)
                result = self._one(path, name, marks)
                report.results.append(result)
                dirty = dirty or result.outcome in ("indexed", "replaced")
                if dirty and time.monotonic() - last_save > CHECKPOINT_SECONDS:
                    self.kb.dense.save(self.kb.dir, self.kb.revision())
                    last_save = time.monotonic()
                if on_file:
                    on_file(i, len(files), result)
            if dirty:
                self.kb.persist(self.kb.revision())
        return report

    def ingest_texts(self, items: Iterable[TextDoc], *, tags: list[str] | None = None,
                     labels: list[str] | None = None,
                     on_file: Callable[[int, int, FileResult], None] | None = None,
                     ) -> IngestReport:
        """Ingest text that is not a file (an evaluation corpus, an API payload).

        ``name`` becomes the document name, so callers can key documents by their own ids.
        """
        docs = list(items)
        marks = _Marks(tags or [], normalize_labels(labels))
        report = IngestReport()
        with self.kb.writing():
            for i, item in enumerate(docs, 1):
                data = item.text.encode("utf-8")
                result = self._index(item.name, hashlib.sha256(data).hexdigest(), len(data),
                                     lambda item=item: item.parsed(), marks)
                report.results.append(result)
                if on_file:
                    on_file(i, len(docs), result)
            if any(r.outcome in ("indexed", "replaced") for r in report.results):
                self.kb.persist(self.kb.revision())
        return report

    def _one(self, path: Path, name: str, marks: _Marks) -> FileResult:
        if not path.is_file():
            return FileResult(name, "rejected", "file not found")
        return self._index(name, sha256_file(path), path.stat().st_size,
                           lambda: load_document(path, max_bytes=self.max_bytes, name=name), marks)

    def _index(self, name: str, sha: str, size: int, parse: Callable[[], ParsedDocument],
               marks: _Marks) -> FileResult:
        try:
            existing = self._existing(sha)
            if existing is not None:
                return FileResult(name, "duplicate", f"same content as '{existing}'")
            parsed = parse()
            parsed, _counts = redact_document(parsed, self.kb.pack.redaction)
            drafts = chunk_document(parsed, self.kb.pack.chunking)
            if not drafts:
                raise DocumentRejected(name, "no text found")
        except DocumentRejected as exc:
            return FileResult(name, "rejected", exc.reason)
        doc_id, chunk_ids = self._store(name, sha, size, parsed.mime, parsed.metadata, marks,
                                        drafts)
        try:
            self.kb.index_chunks(chunk_ids)
        except BaseException as exc:  # leave no half-indexed document behind, then re-raise
            self._mark_failed(doc_id, chunk_ids, f"indexing failed: {exc}")
            raise
        replaced = self._mark_ready(doc_id, name, len(chunk_ids))
        return FileResult(name, "replaced" if replaced else "indexed", chunks=len(chunk_ids),
                          doc_id=doc_id)

    def _existing(self, sha: str) -> str | None:
        """Name of a ready document with this content; a failed earlier try is cleared."""
        with self.kb.sessions.begin() as s:
            doc = s.scalar(select(DocumentRow).where(DocumentRow.kb_id == self.kb.kb_id,
                                                     DocumentRow.sha256 == sha))
            if doc is None:
                return None
            if doc.status == "ready":
                return doc.name
            s.delete(doc)
            return None

    def _store(self, name: str, sha: str, size: int, mime: str, meta: dict[str, str],
               marks: _Marks, drafts: list[ChunkDraft]) -> tuple[int, list[int]]:
        with self.kb.sessions.begin() as s:
            doc = DocumentRow(kb_id=self.kb.kb_id, name=name, sha256=sha, size=size, mime=mime,
                              status="indexing", tags=list(marks.tags),
                              labels=list(marks.labels), meta=dict(meta))
            s.add(doc)
            s.flush()
            rows = [ChunkRow(doc_id=doc.id, ordinal=i, text=d.text,
                             heading_path=list(d.heading_path), page=d.page, start=d.start,
                             end=d.end, kind=d.kind) for i, d in enumerate(drafts)]
            s.add_all(rows)
            s.flush()
            return doc.id, [r.id for r in rows]

    def _mark_failed(self, doc_id: int, chunk_ids: list[int], reason: str) -> None:
        self.kb.unindex_chunks(chunk_ids)
        with self.kb.sessions.begin() as s:
            s.execute(delete(ChunkRow).where(ChunkRow.doc_id == doc_id))
            doc = s.get(DocumentRow, doc_id)
            if doc is not None:
                doc.status, doc.error, doc.chunk_count = "failed", reason[:500], 0

    def _mark_ready(self, doc_id: int, name: str, n_chunks: int) -> bool:
        """Publish the document and retire older versions of the same name, atomically."""
        with self.kb.sessions.begin() as s:
            doc = s.get(DocumentRow, doc_id)
            assert doc is not None
            doc.status = "ready"
            doc.chunk_count = n_chunks
            older = list(s.scalars(select(DocumentRow).where(
                DocumentRow.kb_id == self.kb.kb_id, DocumentRow.name == name,
                DocumentRow.id != doc_id)))
            old_ids = list(s.scalars(select(ChunkRow.id).where(
                ChunkRow.doc_id.in_([d.id for d in older])))) if older else []
            for d in older:
                s.delete(d)
            self.kb.bump_revision(s)
        self.kb.unindex_chunks(old_ids)
        return any(d.status == "ready" for d in older)


def describe_supported() -> str:
    return ", ".join(supported_suffixes())
