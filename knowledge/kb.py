"""One pack's knowledge base: SQL rows (truth) plus the FAISS and BM25 indexes derived from them.

Every change to a pack's documents — add (or replace), delete, relabel, rebuild — and every save
of its indexes goes through :class:`KnowledgeBase`, so the rows (``KnowledgeRepository``) and
the indexes never change apart. Opening a knowledge base repairs it: documents left
``indexing`` by a process that died are marked failed, vectors missing from FAISS are
re-embedded from the stored chunk text, and orphaned vectors are dropped. So a crash at any
point leaves a base that opens and answers.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from domains.pack import Pack
from knowledge.embedding import Embedder
from knowledge.index.bm25 import BM25Index
from knowledge.index.faiss_index import INDEX_FILE, META_FILE, FaissIndex
from knowledge.locking import writer_lock
from knowledge.originals import OriginalStore
from knowledge.store import DocumentRow
from knowledge.store.repository import KnowledgeRepository, NewDocument
from knowledge.types import ChunkDraft
from verirag.errors import KnowledgeBaseError

log = logging.getLogger(__name__)

StatusFn = Callable[[str], None]
ProgressFn = Callable[[int, int], None]


# Parts of a file name that identify a file but say nothing about it: uuids, hex hashes,
# long digit runs (scanner and export numbering), "#c8"-style anchors.
_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
_HEX = re.compile(r"^(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}$", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"[\s_\-]+")


def title_from_name(doc_name: str, heading_path: Iterable[str] = ()) -> str:
    """The words of a file name worth embedding: none when the name is an opaque id
    ("52164b70-6973-4844.txt", "IMG_20231102.pdf") or says nothing its first heading does not.

    A descriptive name ("warfarin-guideline.md", "3M_2018_10K.pdf") often carries what a
    question names first (the drug, the company, the year), so it is kept; an id would only
    add noise to the vector and false BM25 matches.
    """
    stem = _UUID.sub(" ", Path(doc_name).stem)
    words = [w for w in _NAME_SPLIT.split(stem)
             if w and "#" not in w and not _HEX.match(w) and not re.search(r"\d{5,}", w)]
    if sum(c.isalpha() for w in words for c in w) < 2:
        return ""
    first = next(iter(heading_path), "").lower()
    if first and all(w.lower() in first for w in words):
        return ""
    return " ".join(words)


def embedding_text(doc_name: str, heading_path: Iterable[str], text: str) -> str:
    """What gets embedded and BM25-indexed: the chunk with its document and section context.

    A passage saying "the limit is 10%" is findable by "concentration limit" only when the
    heading it sits under travels with it.
    """
    path = tuple(heading_path)
    title = title_from_name(doc_name, path)
    return "\n".join(p for p in (title, " > ".join(path), text) if p)


def normalize_labels(labels: Iterable[str] | None) -> list[str]:
    """Access labels compare case-insensitively and without blanks ("Restricted " is one)."""
    return sorted({label.strip().lower() for label in labels or () if label.strip()})


@dataclass(frozen=True)
class Added:
    """A document :meth:`KnowledgeBase.add_document` stored, indexed and published."""

    doc_id: int
    chunks: int
    replaced: bool  # an older version of the same name was ready and is now retired


@dataclass(frozen=True)
class RepairReport:
    interrupted_docs: int = 0
    reembedded: int = 0
    orphans_removed: int = 0
    rebuilt_bm25: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.interrupted_docs or self.reembedded or self.orphans_removed)


class KnowledgeBase:
    """Owns one pack's indexes; every write goes through here under the writer lock."""

    def __init__(self, pack: Pack, engine: Engine, index_root: Path, embedder: Embedder,
                 *, flat_index_max: int = 50_000) -> None:
        self.pack = pack
        self.engine = engine
        self.repo = KnowledgeRepository(engine, pack.name)
        self.sessions: sessionmaker[Session] = self.repo.sessions  # for callers reading rows
        self.dir = index_root / pack.name
        self.embedder = embedder
        self.flat_index_max = flat_index_max
        self.dense = FaissIndex(embedder.dim, embedder.model_id)
        self.bm25 = BM25Index()
        self.loaded_revision = -1
        self._unloadable_bm25: str | None = None
        self._writers = 0
        self.kb_id = self.repo.ensure(embedder.model_id)
        self.originals: OriginalStore | None = None
        """Where the original files are kept (set by whoever opens it with a data directory;
        None: originals are not kept, e.g. an evaluation corpus)."""

    # -- opening and repair ----------------------------------------------------------------
    @classmethod
    def open(cls, pack: Pack, engine: Engine, index_root: Path, embedder: Embedder, *,
             flat_index_max: int = 50_000, status: StatusFn | None = None) -> KnowledgeBase:
        kb = cls(pack, engine, index_root, embedder, flat_index_max=flat_index_max)
        with writer_lock(kb.lock_path, wait=False) as got:
            if got:
                report = kb.repair(status=status)
                if report.changed:
                    log.warning("knowledge base %s repaired: %s", pack.name, report)
            else:  # another process is writing; it leaves things consistent
                kb.reload()
        return kb

    @property
    def lock_path(self) -> Path:
        return self.dir / ".writer.lock"

    def revision(self) -> int:
        return self.repo.revision()

    def bump_revision(self, s: Session) -> int:
        """Count a change committed in ``s`` (which also holds the change itself)."""
        return self.repo.bump_revision(s)

    def ready_chunk_ids(self) -> set[int]:
        return self.repo.ready_chunk_ids()

    def repair(self, status: StatusFn | None = None) -> RepairReport:
        """Bring the indexes in line with SQL; caller holds the writer lock."""
        interrupted = self.repo.fail_interrupted(
            "indexing was interrupted; ingest the file again")
        self._remove_dead_temp_files()
        loaded = FaissIndex.load(self.dir)
        if loaded and loaded[1].embedder_id == self.embedder.model_id:
            self.dense = loaded[0]
        else:
            self.dense = FaissIndex(self.embedder.dim, self.embedder.model_id)
        expected = self.ready_chunk_ids()
        have = self.dense.ids()
        orphans = have - expected
        missing = expected - have
        self.dense.remove(orphans)
        if missing:
            if status:
                status(f"re-embedding {len(missing)} passages missing from the index")
            texts = self.chunk_texts(sorted(missing))
            self._embed(list(texts), list(texts.values()))
        rebuilt = self._repair_bm25(expected, status)
        revision = self.revision()
        disk_revision = loaded[1].revision if loaded else -1
        changed = bool(orphans or missing or interrupted) or disk_revision != revision
        if changed or rebuilt or self.bm25.revision != revision:
            self.persist(revision)
        self.loaded_revision = revision
        return RepairReport(interrupted, len(missing), len(orphans), rebuilt)

    def _repair_bm25(self, expected: set[int], status: StatusFn | None) -> bool:
        """Load the keyword index and bring it to ``expected``; True when built from scratch.

        Chunk ids are never reused (AUTOINCREMENT) and a chunk's text never changes, so the
        difference in ids is the whole difference: only those chunks are tokenized again.
        """
        loaded = self._load_bm25()
        self.bm25 = loaded or BM25Index()
        have = self.bm25.ids()
        self.bm25.remove(have - expected)
        missing = sorted(expected - have)
        if missing:
            if status:
                status(f"adding {len(missing)} passages to the keyword index")
            texts = self.chunk_texts(missing)
            self.bm25.add(list(texts), list(texts.values()))
        return loaded is None and bool(expected)

    def _remove_dead_temp_files(self) -> None:
        """Delete what a FAISS save killed before its rename left (``.dense.faiss.PID.tmp``).

        Nothing else ever removes them, and each is as large as the index. Only writers save
        and the caller holds the writer lock, so any such file belongs to a writer that died.
        """
        for pattern in (f".{INDEX_FILE}.*.tmp", f".{META_FILE}.*.tmp"):
            for path in self.dir.glob(pattern):
                with contextlib.suppress(OSError):  # a leftover costs disk space, nothing else
                    path.unlink()

    def _load_bm25(self) -> BM25Index | None:
        """The saved BM25 index, or None when absent or damaged (it is rebuilt from SQL)."""
        directory = self.dir / "bm25"
        if not directory.is_dir():
            return None
        try:
            return BM25Index.load(directory)
        except KnowledgeBaseError as exc:
            log.warning("rebuilding the BM25 index of %s: %s", self.pack.name, exc)
            return None

    def reload(self) -> None:
        """Pick up index files another process saved since we loaded ours.

        Keyed on what is recorded *in the files*, not the SQL revision: a writer commits SQL
        before it saves, and a reader that compared against SQL could load the old files, note
        the new revision and never look again. Each index is checked on its own (FAISS by the
        revision in its sidecar, BM25 by the generation its pointer names), so a reader never
        keeps one index stale because the other was already current. While this process is
        itself writing, its in-memory indexes are the newest there are: nothing is reloaded.
        """
        if self._writers:
            return
        disk = FaissIndex.stored_revision(self.dir)
        if disk is not None and disk != self.loaded_revision:
            loaded = FaissIndex.load(self.dir)
            if loaded and loaded[1].embedder_id == self.embedder.model_id:
                self.dense = loaded[0]
                self.loaded_revision = loaded[1].revision
        try:
            generation = BM25Index.stored_generation(self.dir / "bm25")
        except KnowledgeBaseError:
            return  # damaged: keep what we have; the writer's next open rebuilds it
        if generation in (None, self.bm25.generation, self._unloadable_bm25):
            return
        keywords = self._load_bm25()
        if keywords is None:
            self._unloadable_bm25 = generation  # tried once; not again on every search
        else:
            self.bm25 = keywords

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock and keep this process's searches off stale files meanwhile."""
        with writer_lock(self.lock_path):
            self._writers += 1
            try:
                yield
            finally:
                self._writers -= 1

    # -- index maintenance -----------------------------------------------------------------
    def chunk_texts(self, ids: list[int]) -> dict[int, str]:
        """What was indexed for these stored chunks (see ``embedding_text``), by chunk id."""
        return {cid: embedding_text(c.doc_name, c.heading_path, c.text)
                for cid, c in self.repo.chunk_sources(ids).items()}

    def index_chunks(self, ids: list[int], progress: ProgressFn | None = None) -> None:
        """Make stored chunks searchable, reading their text back from SQL (a rebuild)."""
        texts = self.chunk_texts(ids)
        ordered = [i for i in ids if i in texts]
        self.index_texts(ordered, [texts[i] for i in ordered], progress)

    def index_texts(self, ids: list[int], texts: list[str],
                    progress: ProgressFn | None = None) -> None:
        """Embed ``texts`` into FAISS and tokenize them into BM25 under chunk ``ids``."""
        self._embed(ids, texts, progress)
        self.bm25.add(ids, texts)

    def unindex_chunks(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        self.dense.remove(ids)
        self.bm25.remove(ids)

    def _embed(self, ids: list[int], texts: list[str], progress: ProgressFn | None = None
               ) -> None:
        self.dense.add(ids, self.embedder.embed_documents(texts, progress=progress))

    def persist(self, revision: int) -> None:
        """Write both indexes atomically, tagged with the SQL revision they reflect.

        The end of every change: FAISS first switches Flat/IVF if the vector count calls for
        it, which a mid-ingest :meth:`checkpoint` leaves until here.
        """
        self.dense.fit_structure(self.flat_index_max)
        self._save(revision)

    def checkpoint(self) -> None:
        """Save every index as it stands, mid-change, so a crash loses little.

        A long ingest calls this every 30 s or so under :meth:`writing`. Both indexes are
        saved, so a reader reloading meanwhile sees the new documents by meaning and by
        keyword alike. No restructuring: IVF trained on part of an ingest would differ from
        the one :meth:`persist` trains at the end.
        """
        self._save(self.revision())

    def _save(self, revision: int) -> None:
        self.dense.save(self.dir, revision)
        self.bm25.save(self.dir / "bm25", revision)
        self.loaded_revision = revision

    # -- documents -------------------------------------------------------------------------
    def documents(self) -> list[DocumentRow]:
        return self.repo.documents()

    def find_duplicate(self, sha256: str) -> str | None:
        """Name of a ready document with this content; a failed earlier try is cleared."""
        return self.repo.find_content(sha256)

    def add_document(self, doc: NewDocument, drafts: Sequence[ChunkDraft]) -> Added:
        """Store, index and publish one document; an older version of its name is retired.

        The caller holds :meth:`writing` and persists (or checkpoints) afterwards. The chunk
        texts in hand are indexed directly, never read back from SQL. If indexing fails the
        document is kept as ``failed`` without chunks or vectors, and the error re-raised.
        """
        doc_id, chunk_ids = self.repo.add_document(doc, drafts)
        try:
            self.index_texts(chunk_ids, [embedding_text(doc.name, d.heading_path, d.text)
                                         for d in drafts])
        except BaseException as exc:  # leave no half-indexed document behind, then re-raise
            self.unindex_chunks(chunk_ids)
            self.repo.fail_document(doc_id, f"indexing failed: {exc}")
            raise
        published = self.repo.publish(doc_id, doc.name, len(chunk_ids))
        self.unindex_chunks(published.retired_chunk_ids)
        return Added(doc_id, len(chunk_ids), published.replaced)

    def delete_document(self, doc_id: int) -> str:
        """Remove a document, its chunks and their vectors; returns the document's name."""
        with self.writing():
            name, ids, revision = self.repo.delete_document(doc_id)
            self.unindex_chunks(ids)
            self.persist(revision)
            self.prune_originals()
            return name

    def prune_originals(self) -> None:
        """Keep only the original files of the documents that remain."""
        if self.originals is not None:
            self.originals.prune(d.sha256 for d in self.documents())

    def set_labels(self, doc_id: int, labels: Iterable[str]
                   ) -> tuple[str, list[str], list[str]]:
        """Replace a document's access labels; returns its name, the old and the new labels.

        Takes effect on the next search (labels are read per query), no re-indexing needed.
        The revision moves all the same: whatever was derived from the documents as they
        were (a cached answer) must not outlive a change of who may read them.
        """
        clean = normalize_labels(labels)
        with self.writing():
            name, before = self.repo.set_labels(doc_id, clean)
            self.persist(self.repo.bump_revision())
        return name, before, clean

    def rebuild(self, progress: ProgressFn | None = None) -> int:
        """Re-embed every ready chunk from SQL into fresh indexes; returns the chunk count."""
        with self.writing():
            self.dense = FaissIndex(self.embedder.dim, self.embedder.model_id)
            self.bm25 = BM25Index()
            ids = sorted(self.ready_chunk_ids())
            self.index_chunks(ids, progress=progress)
            self.persist(self.repo.bump_revision())
            return len(ids)

    def stats(self) -> dict[str, int]:
        return {"documents": self.repo.ready_document_count(),
                "chunks": len(self.ready_chunk_ids()),
                "vectors": len(self.dense), "revision": self.revision()}
