"""One pack's knowledge base: SQL rows (truth) plus the FAISS and BM25 indexes derived from them.

Opening a knowledge base repairs it: documents left ``indexing`` by a process that died are
marked failed, vectors missing from FAISS are re-embedded from the stored chunk text, and
orphaned vectors are dropped. So a crash at any point leaves a base that opens and answers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from domains.pack import Pack
from knowledge.embedding import Embedder
from knowledge.index.bm25 import BM25Index
from knowledge.index.faiss_index import INDEX_FILE, META_FILE, FaissIndex
from knowledge.locking import writer_lock
from knowledge.store import ChunkRow, DocumentRow, KnowledgeBaseRow, session_factory
from verirag.errors import KnowledgeBaseError

log = logging.getLogger(__name__)

StatusFn = Callable[[str], None]
ProgressFn = Callable[[int, int], None]


def embedding_text(doc_name: str, heading_path: Iterable[str], text: str) -> str:
    """What gets embedded and BM25-indexed: the chunk with its document and section context.

    A passage saying "the limit is 10%" is findable by "concentration limit" only when the
    heading it sits under travels with it.
    """
    title = Path(doc_name).stem.replace("-", " ").replace("_", " ")
    path = " > ".join(heading_path)
    return "\n".join(p for p in (title, path, text) if p)


def normalize_labels(labels: Iterable[str] | None) -> list[str]:
    """Access labels compare case-insensitively and without blanks ("Restricted " is one)."""
    return sorted({label.strip().lower() for label in labels or () if label.strip()})


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
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.dir = index_root / pack.name
        self.embedder = embedder
        self.flat_index_max = flat_index_max
        self.dense = FaissIndex(embedder.dim, embedder.model_id)
        self.bm25 = BM25Index()
        self.loaded_revision = -1
        self._writers = 0
        self.kb_id = self._ensure_row()

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

    def _ensure_row(self) -> int:
        with self.sessions.begin() as s:
            row = s.scalar(select(KnowledgeBaseRow).where(KnowledgeBaseRow.name == self.pack.name))
            if row is None:
                row = KnowledgeBaseRow(name=self.pack.name, embedder_id=self.embedder.model_id)
                s.add(row)
                s.flush()
            return row.id

    def revision(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(KnowledgeBaseRow.revision)
                                .where(KnowledgeBaseRow.id == self.kb_id)) or 0)

    def bump_revision(self, s: Session) -> int:
        row = s.get(KnowledgeBaseRow, self.kb_id)
        if row is None:
            raise KnowledgeBaseError(f"knowledge base '{self.pack.name}' vanished from the DB")
        row.revision += 1
        row.embedder_id = self.embedder.model_id
        return row.revision

    def ready_chunk_ids(self) -> set[int]:
        with self.sessions() as s:
            q = (select(ChunkRow.id).join(DocumentRow)
                 .where(DocumentRow.kb_id == self.kb_id, DocumentRow.status == "ready"))
            return set(s.scalars(q))

    def repair(self, status: StatusFn | None = None) -> RepairReport:
        """Bring the indexes in line with SQL; caller holds the writer lock."""
        interrupted = self._fail_interrupted()
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

    def _fail_interrupted(self) -> int:
        with self.sessions.begin() as s:
            stuck = list(s.scalars(select(DocumentRow).where(
                DocumentRow.kb_id == self.kb_id, DocumentRow.status == "indexing")))
            for doc in stuck:
                s.execute(delete(ChunkRow).where(ChunkRow.doc_id == doc.id))
                doc.status = "failed"
                doc.error = "indexing was interrupted; ingest the file again"
                doc.chunk_count = 0
            if stuck:
                self.bump_revision(s)
            return len(stuck)

    def reload(self) -> None:
        """Pick up index files another process saved since we loaded ours.

        Keyed on the revision recorded *in the files*, not the SQL revision: a writer commits
        SQL before it saves, and a reader that compared against SQL could load the old files,
        note the new revision and never look again. While this process is itself writing, its
        in-memory indexes are the newest there are, so nothing is reloaded.
        """
        if self._writers:
            return
        disk = FaissIndex.stored_revision(self.dir)
        if disk is None or disk == self.loaded_revision:
            return
        loaded = FaissIndex.load(self.dir)
        if loaded and loaded[1].embedder_id == self.embedder.model_id:
            self.dense = loaded[0]
            self.bm25 = self._load_bm25() or self.bm25
            self.loaded_revision = loaded[1].revision

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
        out: dict[int, str] = {}
        with self.sessions() as s:
            for start in range(0, len(ids), 900):
                rows = s.execute(
                    select(ChunkRow.id, ChunkRow.text, ChunkRow.heading_path, DocumentRow.name)
                    .join(DocumentRow).where(ChunkRow.id.in_(ids[start:start + 900])))
                for cid, text, path, name in rows:
                    out[cid] = embedding_text(name, path or [], text)
        return out

    def index_chunks(self, ids: list[int], progress: ProgressFn | None = None) -> None:
        """Make stored chunks searchable: embedded into FAISS, tokenized into BM25."""
        texts = self.chunk_texts(ids)
        ordered = [i for i in ids if i in texts]
        ordered_texts = [texts[i] for i in ordered]
        self._embed(ordered, ordered_texts, progress)
        self.bm25.add(ordered, ordered_texts)

    def unindex_chunks(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        self.dense.remove(ids)
        self.bm25.remove(ids)

    def _embed(self, ids: list[int], texts: list[str], progress: ProgressFn | None = None
               ) -> None:
        self.dense.add(ids, self.embedder.embed_documents(texts, progress=progress))

    def persist(self, revision: int) -> None:
        """Write both indexes atomically, tagged with the SQL revision they reflect."""
        self.dense.fit_structure(self.flat_index_max)
        self.dense.save(self.dir, revision)
        self.bm25.save(self.dir / "bm25", revision)
        self.loaded_revision = revision

    # -- documents -------------------------------------------------------------------------
    def documents(self) -> list[DocumentRow]:
        with self.sessions() as s:
            return list(s.scalars(select(DocumentRow).where(DocumentRow.kb_id == self.kb_id)
                                  .order_by(DocumentRow.uploaded_at, DocumentRow.id)))

    def delete_document(self, doc_id: int) -> str:
        """Remove a document, its chunks and their vectors; returns the document's name."""
        with self.writing():
            with self.sessions.begin() as s:
                doc = s.get(DocumentRow, doc_id)
                if doc is None or doc.kb_id != self.kb_id:
                    raise KnowledgeBaseError(
                        f"no document with id {doc_id} in '{self.pack.name}' "
                        f"(see `verirag kb show {self.pack.name}`)")
                name = doc.name
                ids = list(s.scalars(select(ChunkRow.id).where(ChunkRow.doc_id == doc_id)))
                s.delete(doc)
                revision = self.bump_revision(s)
            self.unindex_chunks(ids)
            self.persist(revision)
            return name

    def set_labels(self, doc_id: int, labels: Iterable[str]
                   ) -> tuple[str, list[str], list[str]]:
        """Replace a document's access labels; returns its name, the old and the new labels.

        Takes effect on the next search (labels are read per query), no re-indexing needed.
        """
        clean = normalize_labels(labels)
        with self.sessions.begin() as s:
            doc = s.get(DocumentRow, doc_id)
            if doc is None or doc.kb_id != self.kb_id:
                raise KnowledgeBaseError(
                    f"no document with id {doc_id} in '{self.pack.name}' "
                    f"(see `verirag kb show {self.pack.name}`)")
            before = list(doc.labels or [])
            doc.labels = clean
            return doc.name, before, clean

    def rebuild(self, progress: ProgressFn | None = None) -> int:
        """Re-embed every ready chunk from SQL into fresh indexes; returns the chunk count."""
        with self.writing():
            self.dense = FaissIndex(self.embedder.dim, self.embedder.model_id)
            self.bm25 = BM25Index()
            ids = sorted(self.ready_chunk_ids())
            self.index_chunks(ids, progress=progress)
            with self.sessions.begin() as s:
                revision = self.bump_revision(s)
            self.persist(revision)
            return len(ids)

    def stats(self) -> dict[str, int]:
        with self.sessions() as s:
            docs = s.scalar(select(func.count()).select_from(DocumentRow)
                            .where(DocumentRow.kb_id == self.kb_id, DocumentRow.status == "ready"))
        return {"documents": int(docs or 0), "chunks": len(self.ready_chunk_ids()),
                "vectors": len(self.dense), "revision": self.revision()}
