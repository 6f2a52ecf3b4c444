"""Schema migrations: every database verirag opens ends up at the current schema, data intact.

What a user sees: a new data directory works; a data directory made before migrations existed
(``create_all``, no ``alembic_version``) still opens with its documents; starting the CLI and the
UI at the same moment on a new directory does not crash either; and a database from a newer
verirag is refused with a message saying what to do instead of being damaged.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, func, inspect, select

from knowledge.store import ChunkRow, DocumentRow, KnowledgeBaseRow, make_engine, session_factory
from knowledge.store.migrate import (
    INITIAL_REVISION,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from knowledge.store.models import Base
from verirag.errors import KnowledgeBaseError

REPO = Path(__file__).resolve().parents[2]
OUR_TABLES = {"knowledge_bases", "documents", "chunks"}


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _add_document(engine: Engine, kb_name: str = "medical", sha: str = "a" * 64) -> list[int]:
    """One knowledge base row, one ready document with two chunks; returns the chunk ids."""
    with session_factory(engine).begin() as s:
        kb = s.scalar(select(KnowledgeBaseRow).where(KnowledgeBaseRow.name == kb_name))
        if kb is None:
            kb = KnowledgeBaseRow(name=kb_name, embedder_id="test-embedder")
            s.add(kb)
            s.flush()
        doc = DocumentRow(
            kb_id=kb.id,
            name=f"{sha[:6]}.md",
            sha256=sha,
            size=10,
            mime="text/markdown",
            status="ready",
            tags=["t"],
            meta={"k": "v"},
        )
        s.add(doc)
        s.flush()
        chunks = [
            ChunkRow(doc_id=doc.id, ordinal=i, text=f"passage {i}", heading_path=["H"])
            for i in range(2)
        ]
        s.add_all(chunks)
        s.flush()
        return [c.id for c in chunks]


def _legacy_database(path: Path) -> Engine:
    """A database as verirag made it before migrations: the initial tables (what create_all
    made then), no alembic_version, and one document with two chunks written in raw SQL (the
    current ORM has columns that schema lacks)."""
    engine = create_engine(_url(path))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), INITIAL_REVISION)
        conn.exec_driver_sql("DROP TABLE alembic_version")
        conn.exec_driver_sql("INSERT INTO knowledge_bases (id, name, embedder_id, revision, "
                             "created_at) VALUES (1, 'medical', 'test-embedder', 0, '2025-01-01')")
        conn.exec_driver_sql(
            "INSERT INTO documents (id, kb_id, name, sha256, size, mime, status, tags, meta, "
            "chunk_count, uploaded_at) VALUES (1, 1, 'old.md', 'a', 10, 'text/markdown', "
            "'ready', '[\"t\"]', '{}', 2, '2025-01-01')")
        for i in (1, 2):
            conn.exec_driver_sql(
                "INSERT INTO chunks (id, doc_id, ordinal, text, heading_path, start, \"end\", "
                f"kind) VALUES ({i}, 1, {i}, 'passage {i}', '[]', 0, 9, 'paragraph')")
    return engine


def test_new_database_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    engine = make_engine(_url(tmp_path / "data" / "verirag.db"))
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= OUR_TABLES
    ids = _add_document(engine)
    with session_factory(engine)() as s:
        doc = s.scalar(select(DocumentRow))
        assert doc is not None and doc.tags == ["t"] and doc.meta == {"k": "v"}
        assert sorted(s.scalars(select(ChunkRow.id))) == ids


def test_database_made_by_create_all_is_stamped_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "verirag.db"
    legacy = _legacy_database(path)
    old_ids = [1, 2]
    legacy.dispose()

    engine = make_engine(_url(path))

    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    assert [v for (v,) in versions] == [head_revision()]
    with session_factory(engine)() as s:
        assert sorted(s.scalars(select(ChunkRow.id))) == old_ids
    # It keeps working: a second document goes in, with ids after the old ones.
    new_ids = _add_document(engine, sha="b" * 64)
    assert min(new_ids) > max(old_ids)


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """`alembic check`: a model change without a migration fails here, naming the change."""
    engine = make_engine(_url(tmp_path / "verirag.db"))
    opts = {"compare_type": True, "compare_server_default": True}
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diffs == []


def test_the_agreement_check_notices_an_unmigrated_column(tmp_path: Path) -> None:
    """Guards the test above: the comparison really sees a column the migrations lack."""
    engine = make_engine(_url(tmp_path / "verirag.db"))
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["documents"].append_column(sa.Column("language", sa.String(8)))
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), changed)
    assert [(d[0], d[3].name) for d in diffs] == [("add_column", "language")]


def test_chunk_ids_are_never_reused_after_a_delete(tmp_path: Path) -> None:
    """Chunk ids are FAISS ids: the migrated table must keep SQLite's AUTOINCREMENT."""
    engine = make_engine(_url(tmp_path / "verirag.db"))
    first = _add_document(engine)
    with session_factory(engine).begin() as s:
        s.execute(sa.delete(ChunkRow).where(ChunkRow.id == max(first)))
    second = _add_document(engine, sha="b" * 64)
    assert min(second) > max(first)


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = _url(tmp_path / "verirag.db")
    engine = make_engine(url)
    ids = _add_document(engine)
    upgrade(engine)
    again = make_engine(url)
    assert current_revision(again) == head_revision()
    with again.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    with session_factory(again)() as s:
        assert sorted(s.scalars(select(ChunkRow.id))) == ids
        assert s.scalar(select(func.count()).select_from(KnowledgeBaseRow)) == 1


def test_in_memory_database_is_migrated() -> None:
    engine = make_engine("sqlite://")
    assert current_revision(engine) == head_revision()
    assert _add_document(engine)


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    engine = make_engine(_url(tmp_path / "verirag.db"))
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()
    assert not OUR_TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _add_document(engine)


def test_partial_schema_without_history_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "verirag.db"
    partial = create_engine(_url(path))
    Base.metadata.tables["knowledge_bases"].create(partial)
    partial.dispose()
    with pytest.raises(KnowledgeBaseError, match=r"some of verirag's tables.*empty database"):
        make_engine(_url(path))


def test_database_from_a_newer_verirag_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "verirag.db"
    engine = make_engine(_url(path))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'from-the-future'")
    engine.dispose()
    with pytest.raises(KnowledgeBaseError, match=r"'from-the-future'.*upgrade verirag"):
        make_engine(_url(path))


def test_initial_revision_is_in_the_history() -> None:
    """Stamping relies on the initial revision staying in the chain as later ones are added."""
    script = ScriptDirectory.from_config(alembic_config())
    chain = [rev.revision for rev in script.walk_revisions()]
    assert chain[-1] == INITIAL_REVISION


RACER = textwrap.dedent("""
    import pathlib, sys, time
    from knowledge.store import make_engine
    from knowledge.store.migrate import current_revision
    import knowledge.store.migrate as migrate
    url, ready, go, mode = sys.argv[1:5]
    if mode == "unlocked":  # what a backend without a migration lock goes through
        migrate._LOCKING_DIALECTS = frozenset()
    pathlib.Path(ready).touch()
    for _ in range(3000):  # wait for the starting gun so every process migrates at once
        if pathlib.Path(go).exists():
            break
        time.sleep(0.002)
    print(current_revision(make_engine(url)))
""")


@pytest.mark.parametrize("mode", ["locked", "unlocked"])
def test_simultaneous_first_opens_all_succeed(tmp_path: Path, mode: str) -> None:
    """The CLI and the UI opening a new data directory at once must not crash either."""
    url = _url(tmp_path / "verirag.db")
    go = tmp_path / "go"
    procs = []
    for i in range(5):
        ready = tmp_path / f"ready-{i}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, "-c", RACER, url, str(ready), str(go), mode],
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    for ready, proc in procs:
        for _ in range(3000):
            if ready.exists() or proc.poll() is not None:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.01)  # a bounded poll that ends early if the process dies
    go.touch()
    results = [proc.communicate() for _, proc in procs]
    failures = [
        err for (_, proc), (_, err) in zip(procs, results, strict=True) if proc.returncode != 0
    ]
    assert failures == []
    assert [out.strip() for out, _ in results] == [head_revision()] * len(procs)
