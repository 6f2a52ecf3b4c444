"""Files -> a knowledge base: hash, dedupe, parse, redact, chunk, then hand over to the base.

Each file is its own unit of work: a rejected or failing file is reported with a one-line
reason and leaves the knowledge base exactly as it was. Identical content is indexed once per
pack; a new version of a file (same name, new content) replaces the old version's chunks.
This module turns files into chunks and reports; storing, indexing, replacing and saving are
:class:`~knowledge.kb.KnowledgeBase`'s, so the rows and the indexes change in one place.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from knowledge.chunking import chunk_document
from knowledge.hashing import sha256_file
from knowledge.kb import KnowledgeBase, normalize_labels
from knowledge.loaders import load_document, supported_suffixes
from knowledge.loaders.text import parse_plain_text
from knowledge.metadata import document_facts
from knowledge.redact import redact_document
from knowledge.store.repository import NewDocument
from knowledge.types import Block, ParsedDocument
from verirag.errors import DocumentRejected

Outcome = Literal["indexed", "duplicate", "replaced", "rejected"]
CHECKPOINT_SECONDS = 30.0


log = logging.getLogger(__name__)


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


Clearance = frozenset[str] | None  # the uploader's readable labels; None: no restriction


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

    def __init__(self, kb: KnowledgeBase, *, max_bytes: int, ocr: bool = True) -> None:
        self.kb = kb
        self.max_bytes = max_bytes
        self.ocr = ocr  # read scanned PDF pages with OCR (the ``ocr`` setting)

    def ingest(self, paths: Iterable[Path], *, tags: list[str] | None = None,
               labels: list[str] | None = None, names: dict[Path, str] | None = None,
               on_file: Callable[[int, int, FileResult], None] | None = None,
               clearance: Clearance = None) -> IngestReport:
        """Ingest files; ``names`` gives display names for temp files (uploads).

        ``labels`` (e.g. ``restricted``) limit who may read the documents: a reader sees them
        only when cleared for every label (``Filters.clearance``). ``clearance`` is what the
        uploader may read: a document they are not cleared for is never named to them, nor
        replaced by their upload.
        """
        files = list(iter_files(paths))
        marks = _Marks(tags or [], normalize_labels(labels))
        report = IngestReport()
        with self.kb.writing():
            last_save = time.monotonic()
            dirty = False
            for i, path in enumerate(files, 1):
                name = (names or {}).get(path, path.name)
                result = self._one(path, name, marks, clearance)
                report.results.append(result)
                dirty = dirty or result.outcome in ("indexed", "replaced")
                if dirty and time.monotonic() - last_save > CHECKPOINT_SECONDS:
                    self.kb.checkpoint()
                    last_save = time.monotonic()
                if on_file:
                    on_file(i, len(files), result)
            if dirty:
                self.kb.persist(self.kb.revision())
                self.kb.prune_originals()  # the versions a new one replaced
        return report

    def ingest_texts(self, items: Iterable[TextDoc], *, tags: list[str] | None = None,
                     labels: list[str] | None = None,
                     on_file: Callable[[int, int, FileResult], None] | None = None,
                     clearance: Clearance = None) -> IngestReport:
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
                                     lambda item=item: item.parsed(), marks, clearance)
                report.results.append(result)
                if on_file:
                    on_file(i, len(docs), result)
            if any(r.outcome in ("indexed", "replaced") for r in report.results):
                self.kb.persist(self.kb.revision())
        return report

    def _one(self, path: Path, name: str, marks: _Marks, clearance: Clearance) -> FileResult:
        if not path.is_file():
            return FileResult(name, "rejected", "file not found")
        sha = sha256_file(path)
        result = self._index(name, sha, path.stat().st_size,
                             lambda: load_document(path, max_bytes=self.max_bytes, name=name,
                                                   ocr=self.ocr),
                             marks, clearance)
        if result.outcome != "rejected" and self.kb.originals is not None:
            # also for a duplicate: the same content uploaded again brings back the original
            # of a document indexed before originals were kept
            try:
                self.kb.originals.keep(path, sha)
            except OSError as exc:  # the document is indexed; only its page view is missing
                log.warning("could not keep the original of %s: %s", name, exc)
        return result

    @staticmethod
    def _hidden(labels: list[str] | None, clearance: Clearance) -> bool:
        """A ready document carrying ``labels`` is one the uploader may not see."""
        return clearance is not None and labels is not None and not set(labels) <= clearance

    def _index(self, name: str, sha: str, size: int, parse: Callable[[], ParsedDocument],
               marks: _Marks, clearance: Clearance = None) -> FileResult:
        try:
            existing = self.kb.find_duplicate(sha)
            if existing is not None:
                # its name may itself be confidential
                if self._hidden(self.kb.repo.ready_labels(existing), clearance):
                    return FileResult(name, "duplicate", "same content as a document already "
                                      "indexed that you are not cleared to see")
                return FileResult(name, "duplicate", f"same content as '{existing}'")
            current = self.kb.repo.ready_labels(name)  # of the version this upload replaces
            if self._hidden(current, clearance):
                raise DocumentRejected(name, "a document of this name exists that you are not "
                                             "cleared to see; rename the file, or ask an admin")
            kept = current or []  # a new version never drops a label
            parsed = parse()
            parsed, _counts = redact_document(parsed, self.kb.pack.redaction)
            drafts = chunk_document(parsed, self.kb.pack.chunking)
            if not drafts:
                raise DocumentRejected(name, "no text found")
        except DocumentRejected as exc:
            return FileResult(name, "rejected", exc.reason)
        meta = {**parsed.metadata, **document_facts(name, parsed)}
        added = self.kb.add_document(
            NewDocument(name, sha, size, parsed.mime, meta, list(marks.tags),
                        sorted(set(marks.labels) | set(kept))), drafts)
        return FileResult(name, "replaced" if added.replaced else "indexed",
                          chunks=added.chunks, doc_id=added.doc_id)


def describe_supported() -> str:
    return ", ".join(supported_suffixes())
