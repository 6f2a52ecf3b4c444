"""The knowledge base as a user sees it: ingest, dedupe, replace, delete, survive crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.services import Runtime
from knowledge import ingest as ingest_module
from knowledge.index.bm25 import BM25Index
from knowledge.index.faiss_index import META_FILE
from knowledge.ingest import Ingestor
from knowledge.kb import KnowledgeBase
from knowledge.retrieval import Filters, Retriever
from knowledge.store import ChunkRow, DocumentRow

POLICY_V1 = """# Visitor policy

## Visiting hours

Visiting hours on general wards are 14:00 to 20:00 every day. Two visitors per bed at a time.
"""
POLICY_V2 = POLICY_V1.replace("14:00 to 20:00", "10:00 to 21:00")


def _docs(rt: Runtime, pack: str = "medical") -> list[DocumentRow]:
    return [d for d in rt.resources.kb(pack).documents() if d.status == "ready"]


def _top_doc(rt: Runtime, query: str, pack: str = "medical") -> str:
    found = Retriever(rt.resources.kb(pack)).search(query)
    return found.passages[0].doc_name if found.passages else ""


def test_ingest_then_duplicate_then_new_version(fresh_runtime: Runtime, tmp_path: Path) -> None:
    doc = tmp_path / "visitor-policy.md"
    doc.write_text(POLICY_V1, encoding="utf-8")
    ingestor = fresh_runtime.resources.ingestor("medical")

    first = ingestor.ingest([doc])
    assert [r.outcome for r in first.results] == ["indexed"]
    copy = tmp_path / "copy-of-policy.md"
    copy.write_text(POLICY_V1, encoding="utf-8")
    again = ingestor.ingest([doc, copy])
    assert [r.outcome for r in again.results] == ["duplicate", "duplicate"]
    assert "visitor-policy.md" in again.results[1].reason

    doc.write_text(POLICY_V2, encoding="utf-8")
    third = ingestor.ingest([doc])
    assert [r.outcome for r in third.results] == ["replaced"]
    docs = _docs(fresh_runtime)
    assert len(docs) == 1
    found = Retriever(fresh_runtime.resources.kb("medical")).search(
        "visiting hours on general wards")
    texts = " ".join(p.text for p in found.passages)
    assert "10:00 to 21:00" in texts and "14:00 to 20:00" not in texts
    kb = fresh_runtime.resources.kb("medical")
    assert len(kb.dense) == kb.stats()["chunks"]


def test_rejected_files_change_nothing(fresh_runtime: Runtime, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00" + bytes(200))
    kb = fresh_runtime.resources.kb("medical")
    before = kb.revision()
    report = fresh_runtime.resources.ingestor("medical").ingest([empty, exe])
    assert [r.outcome for r in report.results] == ["rejected", "rejected"]
    assert "empty" in report.results[0].reason
    assert "unsupported" in report.results[1].reason
    assert kb.revision() == before
    assert kb.documents() == []


def test_delete_removes_passages_and_vectors(fresh_runtime: Runtime, tmp_path: Path) -> None:
    doc = tmp_path / "visitor-policy.md"
    doc.write_text(POLICY_V1, encoding="utf-8")
    fresh_runtime.resources.ingestor("medical").ingest([doc])
    kb = fresh_runtime.resources.kb("medical")
    (row,) = _docs(fresh_runtime)
    assert kb.delete_document(row.id) == "visitor-policy.md"
    assert len(kb.dense) == 0
    assert Retriever(kb).search("visiting hours").passages == []


def test_filters_restrict_retrieval_to_documents_and_tags(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    a = tmp_path / "visitor-policy.md"
    a.write_text(POLICY_V1, encoding="utf-8")
    b = tmp_path / "parking.md"
    b.write_text("# Parking\n\nVisitor parking costs 2 pounds per hour at the hospital.\n")
    ing = fresh_runtime.resources.ingestor("medical")
    ing.ingest([a], tags=["wards"])
    ing.ingest([b], tags=["estates"])
    retriever = Retriever(fresh_runtime.resources.kb("medical"))
    only = retriever.search("visitors", filters=Filters(tags=frozenset({"estates"})))
    assert {p.doc_name for p in only.passages} == {"parking.md"}
    none = retriever.search("visitors", filters=Filters(doc_names=frozenset({"nope.md"})))
    assert none.passages == []


def test_reopen_repairs_a_stale_index(fresh_runtime: Runtime, tmp_path: Path) -> None:
    """A crash after SQL committed but before the index file was written."""
    doc = tmp_path / "visitor-policy.md"
    doc.write_text(POLICY_V1, encoding="utf-8")
    fresh_runtime.resources.ingestor("medical").ingest([doc])
    kb = fresh_runtime.resources.kb("medical")
    # Simulate the crash: index file from before this document (empty), older revision.
    kb.dense.remove(kb.dense.ids())
    kb.dense.save(kb.dir, revision=0)
    reopened = KnowledgeBase.open(kb.pack, kb.engine, kb.dir.parent, kb.embedder)
    assert len(reopened.dense) == reopened.stats()["chunks"] > 0
    meta = json.loads((kb.dir / META_FILE).read_text())
    assert meta["revision"] == reopened.revision()
    assert Retriever(reopened).search("visiting hours").passages


PARKING = "# Parking\n\nVisitor parking costs 2 pounds per hour at the hospital.\n"


def _keyword_hits(kb: KnowledgeBase, query: str) -> set[str]:
    found = Retriever(kb).search(query, mode="bm25")
    return {p.doc_name for p in found.passages}


def test_deleting_a_document_updates_keyword_search_without_rebuilding_it(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    """Deleting used to re-tokenize every passage of the base (38 s at 100k chunks)."""
    wards = "".join(f"\n## Ward {n}\n\nVisitor hours on ward {n} follow the general policy; "
                    f"the ward {n} nurse in charge may shorten them.\n" for n in range(12))
    (tmp_path / "visitor-policy.md").write_text(POLICY_V1 + wards, encoding="utf-8")
    (tmp_path / "parking.md").write_text(PARKING, encoding="utf-8")
    ingestor = fresh_runtime.resources.ingestor("medical")
    ingestor.ingest([tmp_path / "visitor-policy.md"])
    ingestor.ingest([tmp_path / "parking.md"])
    kb = fresh_runtime.resources.kb("medical")
    assert _keyword_hits(kb, "parking costs pounds") == {"parking.md"}
    segments = {p.name for p in (kb.dir / "bm25").glob("seg-*")}

    parking = next(d for d in _docs(fresh_runtime) if d.name == "parking.md")
    kb.delete_document(parking.id)
    assert _keyword_hits(kb, "parking costs pounds") == set()
    assert _keyword_hits(kb, "nurse in charge") == {"visitor-policy.md"}
    assert segments <= {p.name for p in (kb.dir / "bm25").glob("seg-*")}  # nothing rewritten
    with kb.writing():
        report = kb.repair()
    assert not report.rebuilt_bm25 and not report.changed
    assert kb.bm25.ids() == kb.ready_chunk_ids()


def test_reopen_brings_a_lagging_keyword_index_up_to_date(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    """A crash after the 30-second FAISS checkpoint, before the keyword index was saved."""
    (tmp_path / "visitor-policy.md").write_text(POLICY_V1, encoding="utf-8")
    (tmp_path / "parking.md").write_text(PARKING, encoding="utf-8")
    fresh_runtime.resources.ingestor("medical").ingest([tmp_path / "visitor-policy.md"])
    kb = fresh_runtime.resources.kb("medical")
    fresh_runtime.resources.ingestor("medical").ingest([tmp_path / "parking.md"])
    stale = BM25Index.load(kb.dir / "bm25")
    stale.remove(id_ for d in _docs(fresh_runtime) if d.name == "parking.md"
                 for id_ in _chunk_ids(kb, d.id))
    stale.save(kb.dir / "bm25", kb.revision() - 1)

    reopened = KnowledgeBase.open(kb.pack, kb.engine, kb.dir.parent, kb.embedder)
    assert reopened.bm25.ids() == reopened.ready_chunk_ids()
    assert reopened.bm25.revision == reopened.revision()
    assert _keyword_hits(reopened, "parking costs") == {"parking.md"}


def _chunk_ids(kb: KnowledgeBase, doc_id: int) -> list[int]:
    with kb.sessions() as s:
        return list(s.scalars(select(ChunkRow.id).where(ChunkRow.doc_id == doc_id)))


def test_reopen_fails_documents_left_indexing(fresh_runtime: Runtime, tmp_path: Path) -> None:
    doc = tmp_path / "visitor-policy.md"
    doc.write_text(POLICY_V1, encoding="utf-8")
    fresh_runtime.resources.ingestor("medical").ingest([doc])
    kb = fresh_runtime.resources.kb("medical")
    with kb.sessions.begin() as s:
        s.execute(update(DocumentRow).values(status="indexing"))
    reopened = KnowledgeBase.open(kb.pack, kb.engine, kb.dir.parent, kb.embedder)
    with reopened.sessions() as s:
        row = s.scalar(select(DocumentRow))
    assert row is not None and row.status == "failed"
    assert "interrupted" in (row.error or "")
    assert len(reopened.dense) == 0
    # Ingesting the same file again retries it instead of calling it a duplicate.
    report = Ingestor(reopened, max_bytes=10_000_000).ingest([doc])
    assert [r.outcome for r in report.results] == ["indexed"]


def test_a_document_that_fails_to_index_leaves_nothing_searchable(
        fresh_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedder failing mid-ingest: the error reaches the caller, the document is kept as
    failed without chunks or vectors, and the next try indexes it instead of calling it a
    duplicate."""
    doc = tmp_path / "visitor-policy.md"
    doc.write_text(POLICY_V1, encoding="utf-8")
    kb = fresh_runtime.resources.kb("medical")

    def out_of_memory(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(kb.embedder, "embed_documents", out_of_memory)
    with pytest.raises(RuntimeError, match="out of memory"):
        Ingestor(kb, max_bytes=10_000_000).ingest([doc])
    (row,) = kb.documents()
    assert (row.status, row.chunk_count) == ("failed", 0)
    assert "indexing failed: CUDA out of memory" in (row.error or "")
    assert kb.ready_chunk_ids() == set() and len(kb.dense) == 0 and len(kb.bm25) == 0
    monkeypatch.undo()
    report = Ingestor(kb, max_bytes=10_000_000).ingest([doc])
    assert [r.outcome for r in report.results] == ["indexed"]
    assert kb.bm25.ids() == kb.dense.ids() == kb.ready_chunk_ids()


def test_a_second_reader_sees_what_a_writer_saved(fresh_runtime: Runtime, tmp_path: Path) -> None:
    """Two handles on one knowledge base, as the UI and a CLI ingest are."""
    writer = fresh_runtime.resources.kb("medical")
    reader = KnowledgeBase.open(writer.pack, writer.engine, writer.dir.parent, writer.embedder)
    assert Retriever(reader).search("visiting hours on general wards").passages == []
    doc = tmp_path / "visitor-policy.md"
    doc.write_text(POLICY_V1, encoding="utf-8")
    Ingestor(writer, max_bytes=10_000_000).ingest([doc])
    found = Retriever(reader).search("visiting hours on general wards")
    assert [p.doc_name for p in found.passages][:1] == ["visitor-policy.md"]
    assert reader.loaded_revision == writer.revision()


def test_a_reader_open_during_a_long_ingest_finds_the_new_keywords(
        fresh_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The UI open while a long ingest passes a checkpoint, then finishes.

    The checkpoint used to save FAISS alone and a reader reloaded on the FAISS revision only:
    it took the new vectors with the old keyword index, and once the final save carried the
    same FAISS revision it never looked again, so keyword search missed the new document for
    good.
    """
    monkeypatch.setattr(ingest_module, "CHECKPOINT_SECONDS", -1.0)  # after every file
    writer = fresh_runtime.resources.kb("medical")
    reader = KnowledgeBase.open(writer.pack, writer.engine, writer.dir.parent, writer.embedder)
    (tmp_path / "parking.md").write_text(PARKING, encoding="utf-8")
    (tmp_path / "visitor-policy.md").write_text(POLICY_V1, encoding="utf-8")
    during: list[set[str]] = []
    Ingestor(writer, max_bytes=10_000_000).ingest(
        [tmp_path / "parking.md", tmp_path / "visitor-policy.md"],
        on_file=lambda *_: during.append(_keyword_hits(reader, "parking costs pounds")))
    assert during == [{"parking.md"}, {"parking.md"}]
    assert _keyword_hits(reader, "parking costs pounds") == {"parking.md"}
    assert _keyword_hits(reader, "visiting hours general wards") == {"visitor-policy.md"}
    assert reader.bm25.ids() == writer.ready_chunk_ids()


def test_reader_looking_between_commit_and_save_catches_up(fresh_runtime: Runtime) -> None:
    writer = fresh_runtime.resources.kb("medical")
    reader = KnowledgeBase.open(writer.pack, writer.engine, writer.dir.parent, writer.embedder)
    with writer.sessions.begin() as s:  # a writer has committed SQL, not yet saved its files
        revision = writer.bump_revision(s)
    Retriever(reader).search("anything")
    assert reader.loaded_revision < revision
    writer.persist(revision)
    Retriever(reader).search("anything")
    assert reader.loaded_revision == revision


def test_chinese_queries_rank_by_bm25_when_the_embedder_is_english_only(
        runtime: Runtime) -> None:
    """The default embedder cannot rank Chinese: hybrid search then follows BM25's order,
    while still reporting each passage's cosine for the evidence check."""
    retriever = Retriever(runtime.resources.kb("legal"))
    assert retriever.cfg.dense_languages == ["en"]
    query = "保密信息的保密期限是多久？"
    hybrid = retriever.search(query, k=5)
    bm25 = retriever.search(query, k=5, mode="bm25")
    assert [p.chunk_id for p in hybrid.passages] == [p.chunk_id for p in bm25.passages]
    assert all(p.chunk_id in hybrid.dense for p in hybrid.passages)
    english = "How long does the confidentiality obligation last?"
    assert ([p.chunk_id for p in retriever.search(english, k=5).passages]
            != [p.chunk_id for p in retriever.search(english, k=5, mode="bm25").passages])


def test_samples_fill_only_a_knowledge_base_never_used(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    """Deleting the bundled samples to load one's own files must not bring them back on the
    next start: answers would then cite a fictional hospital's policy."""
    doc = tmp_path / "visitor-policy.md"
    doc.write_text(POLICY_V1, encoding="utf-8")
    for pack in fresh_runtime.resources.pack_names():
        fresh_runtime.resources.ingestor(pack).ingest([doc])
        kb = fresh_runtime.resources.kb(pack)
        for row in kb.documents():
            kb.delete_document(row.id)
    assert fresh_runtime.resources.ensure_bundled_indexed() == {}
    assert all(fresh_runtime.resources.kb(p).documents() == []
               for p in fresh_runtime.resources.pack_names())
