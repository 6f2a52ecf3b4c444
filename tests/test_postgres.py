"""verirag on a real PostgreSQL server: migrations, the advisory lock, and the services.

The README says any SQLAlchemy URL works; these run the store, users, audit and dialog on a
server the tests start themselves (``tests/postgres.py``). The concurrent-writers case is in
``tests/app/test_concurrency.py``, run there on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from openai import AuthenticationError, OpenAI
from sqlalchemy import inspect, text

from app.api.deps import ApiOptions
from app.api.server import Background, create_app
from app.auth.principal import Grant, Principal
from app.auth.records import SCHEMA as AUTH_SCHEMA
from app.dialog.records import SCHEMA as DIALOG_SCHEMA
from app.models import ModelRegistry
from app.services import Runtime
from knowledge.ingest import TextDoc
from knowledge.store import make_engine
from knowledge.store.migrate import current_revision, head_revision, upgrade
from tests.api.conftest import wait_ready
from verirag.settings import load_settings

SCHEMAS = ("alembic_version", "alembic_version_dialog", "alembic_version_auth")


def _runtime(pg_url: str, tmp_path: Path, models: ModelRegistry) -> Runtime:
    return Runtime(load_settings(home=tmp_path / "home", database_url=pg_url), models)


def test_every_schema_migrates_on_a_real_server(pg_url: str, tmp_path: Path,
                                                models: ModelRegistry) -> None:
    rt = _runtime(pg_url, tmp_path, models)
    engine = rt.engine
    assert engine.dialect.name == "postgresql"
    tables = set(inspect(engine).get_table_names())
    assert {"documents", "chunks", "chat_sessions", "chat_turns", "audit_log", "users",
            *SCHEMAS} <= tables
    for schema in (DIALOG_SCHEMA, AUTH_SCHEMA):
        assert current_revision(engine, schema) == head_revision(schema)
        upgrade(engine, schema)  # a second open is a no-op
    with engine.connect() as conn:
        for table in SCHEMAS:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_first_opens_at_the_same_moment_migrate_once(pg_url: str) -> None:
    """Six processes' worth of engines opening a new database at once: the advisory lock
    lets one migrate while the others wait, and nobody sees half a schema."""
    errors: list[str] = []
    start = threading.Barrier(6)

    def open_db() -> None:
        try:
            start.wait()
            engine = make_engine(pg_url)
            upgrade(engine, DIALOG_SCHEMA)
            upgrade(engine, AUTH_SCHEMA)
            engine.dispose()
        except Exception as exc:  # any failure at all is what this test looks for
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_db) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        for table in SCHEMAS:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_store_users_audit_and_dialog_on_postgres(pg_url: str, tmp_path: Path,
                                                  models: ModelRegistry) -> None:
    rt = _runtime(pg_url, tmp_path, models)
    res = rt.resources
    ingestor = res.ingestor("legal")
    report = ingestor.ingest_texts([
        TextDoc("retention.md", "# Retention\n\nClient files are kept for seven years after "
                "a matter closes."),
        TextDoc("falcon.md", "# Project Falcon\n\nThe Falcon merger closes on 30 June."),
    ])
    assert report.count("indexed") == 2
    falcon = next(d for d in res.kb("legal").documents() if d.name == "falcon.md")
    res.kb("legal").set_labels(falcon.id, ["restricted"])

    rt.users.add("lee", "lee password", actor="test")
    rt.users.grant("lee", "legal", "viewer", actor="test")
    lee = rt.users.authenticate("lee", "lee password")
    dm = rt.dialog("legal", principal=lee, with_generator=False)
    sid = dm.start()
    turn = dm.turn(sid, "How long are client files kept after a matter closes?")
    assert turn.answer.decision == "answer" and "seven years" in turn.answer.text
    assert {p.doc_name for _, p in turn.answer.cited_passages()} == {"retention.md"}
    hidden = dm.turn(sid, "When does the Falcon merger close?")
    assert all(p.doc_name != "falcon.md" for p in hidden.answer.sources)

    assert [t.question for t in rt.sessions.turns(sid)] == [
        "How long are client files kept after a matter closes?",
        "When does the Falcon merger close?"]
    answers = rt.audit.search(action="answer", pack="legal")
    assert len(answers) == 2 and answers[0].actor == "lee"
    admin = Principal("root", (Grant("finance", "admin"),))
    assert rt.audit.search_for(admin, res.pack_names()) == []

    # Reopening from a new process's point of view: same data, nothing re-embedded.
    again = _runtime(pg_url, tmp_path, models)
    kb = again.resources.kb("legal")
    assert {d.name for d in kb.documents()} == {"retention.md", "falcon.md"}
    assert kb.stats()["vectors"] == len(kb.ready_chunk_ids())


@pytest.mark.parametrize("password", ["lee password"])
def test_login_throttle_counts_on_postgres(pg_url: str, tmp_path: Path, models: ModelRegistry,
                                          password: str) -> None:
    rt = _runtime(pg_url, tmp_path, models)
    rt.users.add("lee", password, actor="test")
    for _ in range(rt.users.max_failures):
        with pytest.raises(Exception, match="wrong user name or password"):
            rt.users.authenticate("lee", "guess guess")
    with pytest.raises(Exception, match="too many failed logins"):
        rt.users.authenticate("lee", password)


def test_api_keys_and_continued_conversations_on_postgres(pg_url: str, tmp_path: Path,
                                                         models: ModelRegistry) -> None:
    """The API on PostgreSQL: a key checked per request, a client's history continuing its
    stored session (the fingerprint row upserted), a revoked key refused."""
    rt = _runtime(pg_url, tmp_path, models)
    rt.resources.ingestor("legal").ingest_texts([TextDoc(
        "retention.md", "# Retention\n\nClient files are kept for seven years after a matter "
        "closes. Billing records are kept for ten years.")])
    rt.users.add("kim", "kim password", actor="test")
    rt.users.grant("kim", "legal", "viewer", actor="test")
    key, _ = rt.keys.create("kim", actor="test")
    with Background(create_app(rt, ApiOptions(workers=1, index_bundled=False))) as url:
        wait_ready(url)
        client = OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
        question = "How long are client files kept after a matter closes?"
        first = client.chat.completions.create(
            model="legal", messages=[{"role": "user", "content": question}])
        said = first.choices[0].message.content or ""
        assert "seven years" in said
        again = client.chat.completions.create(model="legal", messages=[
            {"role": "user", "content": question}, {"role": "assistant", "content": said},
            {"role": "user", "content": "How long are billing records kept?"}])
        assert again.model_extra["verirag"]["session_id"] == \
            first.model_extra["verirag"]["session_id"]
        rt.keys.revoke(key, actor="test")
        with pytest.raises(AuthenticationError):
            client.models.list()
