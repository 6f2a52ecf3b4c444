"""The knowledge tables through ``KnowledgeRepository``: the rules every caller relies on.

Pure SQL on a temporary SQLite file, no models: what is visible (only ready documents, only
this pack's), what a change bumps (the revision, in the same transaction), and what replacing,
failing and deleting a document leave behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from knowledge.store import make_engine
from knowledge.store.repository import KnowledgeRepository, NewDocument
from knowledge.types import ChunkDraft
from verirag.errors import KnowledgeBaseError


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'kb.sqlite'}")


def _repo(engine: Engine, pack: str = "medical") -> KnowledgeRepository:
    repo = KnowledgeRepository(engine, pack)
    repo.ensure("test-embedder")
    return repo


def _doc(name: str, sha: str, labels: list[str] | None = None) -> NewDocument:
    return NewDocument(name, sha * 64, 10, "text/markdown", {"k": "v"}, ["t"], labels or [])


def _drafts(*texts: str) -> list[ChunkDraft]:
    return [ChunkDraft(t, ("Visiting", "Hours"), 1, 0, len(t)) for t in texts]


def test_a_document_is_invisible_until_published(engine: Engine) -> None:
    repo = _repo(engine)
    doc_id, ids = repo.add_document(_doc("policy.md", "a"), _drafts("one", "two"))
    assert repo.ready_chunk_ids() == set()
    assert repo.find_content("a" * 64) is None  # an unfinished try is cleared, not a duplicate
    doc_id, ids = repo.add_document(_doc("policy.md", "a"), _drafts("one", "two"))
    before = repo.revision()
    published = repo.publish(doc_id, "policy.md", len(ids))
    assert published.revision == repo.revision() == before + 1
    assert (published.replaced, published.retired_chunk_ids) == (False, [])
    assert repo.ready_chunk_ids() == set(ids)
    assert repo.find_content("a" * 64) == "policy.md"
    sources = repo.chunk_sources(ids)
    assert [sources[i].text for i in ids] == ["one", "two"]
    assert sources[ids[0]].heading_path == ("Visiting", "Hours")
    assert [c.text for c in repo.ready_chunk_sources()] == ["one", "two"]
    assert repo.ready_document_count() == 1


def test_a_new_version_retires_the_old_one(engine: Engine) -> None:
    repo = _repo(engine)
    old_id, old_chunks = repo.add_document(_doc("policy.md", "a"), _drafts("old"))
    repo.publish(old_id, "policy.md", 1)
    new_id, new_chunks = repo.add_document(_doc("policy.md", "b"), _drafts("new"))
    published = repo.publish(new_id, "policy.md", 1)
    assert published.replaced and published.retired_chunk_ids == old_chunks
    assert [d.id for d in repo.documents()] == [new_id]
    assert repo.ready_chunk_ids() == set(new_chunks)


def test_failed_and_interrupted_documents_keep_no_chunks(engine: Engine) -> None:
    repo = _repo(engine)
    failed, _ = repo.add_document(_doc("broken.md", "a"), _drafts("x"))
    repo.fail_document(failed, "indexing failed: boom")
    repo.add_document(_doc("cut.md", "b"), _drafts("y"))
    before = repo.revision()
    assert repo.fail_interrupted("indexing was interrupted") == 1
    assert repo.revision() == before + 1
    assert {(d.name, d.status) for d in repo.documents()} == {
        ("broken.md", "failed"), ("cut.md", "failed")}
    assert all(d.chunk_count == 0 for d in repo.documents())
    assert repo.ready_chunk_ids() == set()


def test_delete_and_relabel_only_this_packs_documents(engine: Engine) -> None:
    medical, legal = _repo(engine, "medical"), _repo(engine, "legal")
    doc_id, ids = medical.add_document(_doc("policy.md", "a", ["restricted"]), _drafts("x"))
    medical.publish(doc_id, "policy.md", 1)
    with pytest.raises(KnowledgeBaseError, match="no document with id"):
        legal.delete_document(doc_id)
    with pytest.raises(KnowledgeBaseError, match="no document with id"):
        legal.set_labels(doc_id, [])
    assert medical.set_labels(doc_id, ["partners"]) == ("policy.md", ["restricted"])
    ((passage, labels),) = medical.ready_passages(ids)
    assert (passage.doc_name, passage.text, labels) == ("policy.md", "x", ["partners"])
    assert legal.ready_passages(ids) == []
    assert legal.cited_texts(ids) == {}
    assert medical.cited_texts(ids) == {ids[0]: "x"}
    name, chunk_ids, revision = medical.delete_document(doc_id)
    assert (name, chunk_ids, revision) == ("policy.md", ids, medical.revision())
    assert medical.cited_texts(ids) == {}  # a deleted passage is simply absent


def test_chunk_ids_are_never_reused(engine: Engine) -> None:
    """A chunk id is also a FAISS id: reusing one could make a stale vector answer."""
    repo = _repo(engine)
    doc_id, first = repo.add_document(_doc("a.md", "a"), _drafts("x", "y"))
    repo.publish(doc_id, "a.md", 2)
    repo.delete_document(doc_id)
    _, second = repo.add_document(_doc("b.md", "b"), _drafts("z"))
    assert second[0] > max(first)
