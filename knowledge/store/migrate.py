"""Bring any database verirag opens to the current schema with Alembic, safely and unattended.

``make_engine`` calls :func:`upgrade` on every open, so users never run a migration command.
Three situations have to just work:

- a new database: every revision runs, in one transaction where the backend allows it;
- a database created by ``create_all`` before migrations existed (our tables, no
  ``alembic_version``): it already has the initial schema, so it is stamped at that revision and
  only later revisions run;
- two processes opening a new database at once (the CLI ingesting while the UI starts): they
  are serialised by a database lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock),
  so the second finds the first's work done. Elsewhere the loser of the race hits "table already
  exists", and one retry sees the finished schema.

To write a new revision, change ``models.py``, then autogenerate against a migrated database::

    with make_engine(url).connect() as conn:
        alembic.command.revision(alembic_config(conn), "what changed", autogenerate=True)

and review the generated file in ``migrations/versions``; ``tests/knowledge/test_migrations.py``
fails while the models and the migrations disagree.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

from knowledge.store.models import Base
from knowledge.store.schema import Schema
from verirag.errors import KnowledgeBaseError

__all__ = ["KNOWLEDGE", "Schema", "alembic_config", "current_revision", "head_revision",
           "upgrade"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
INITIAL_REVISION = "0001"
# What create_all made before migrations: the tables of INITIAL_REVISION.
INITIAL_TABLES = frozenset({"knowledge_bases", "documents", "chunks"})
# Backends where _lock serialises concurrent upgrades; others rely on retrying.
_LOCKING_DIALECTS = frozenset({"sqlite", "postgresql"})
_RACE_ATTEMPTS = 6
# Any fixed 64-bit key; it names "verirag schema migration" among advisory locks.
_PG_LOCK_KEY = 0x5645524952414701


class _PartialSchemaError(KnowledgeBaseError):
    """Some of the initial tables exist but no migration history: damage, or a racing creator."""


KNOWLEDGE = Schema("knowledge", MIGRATIONS_DIR / "versions", "alembic_version", Base.metadata,
                   INITIAL_REVISION, INITIAL_TABLES)


def alembic_config(connection: Connection | None = None, schema: Schema = KNOWLEDGE) -> Config:
    """An Alembic config for one schema's revisions; no alembic.ini is read."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_locations", str(schema.versions_dir))
    cfg.attributes["metadata"] = schema.metadata
    cfg.attributes["version_table"] = schema.version_table
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision(schema: Schema = KNOWLEDGE) -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config(schema=schema)).get_current_head()
    if head is None:
        raise KnowledgeBaseError(
            f"no migrations found in {schema.versions_dir}; reinstall verirag")
    return head


def current_revision(engine: Engine, schema: Schema = KNOWLEDGE) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": schema.version_table}).get_current_revision()


def upgrade(engine: Engine, schema: Schema = KNOWLEDGE) -> None:
    """Migrate the database to the newest revision (a no-op when it is there already)."""
    if current_revision(engine, schema) == head_revision(schema):
        return  # the usual case: no write lock, so opening never waits on a busy writer
    if engine.dialect.name in _LOCKING_DIALECTS:
        _upgrade_once(engine, schema)  # serialised by the lock: errors here are real ones
        return
    # No lock on this backend: a process racing another's first upgrade sees "already exists"
    # or half the tables; the other finishes within moments, so look again a few times.
    for attempt in range(1, _RACE_ATTEMPTS + 1):
        try:
            _upgrade_once(engine, schema)
            return
        except (DBAPIError, _PartialSchemaError) as exc:
            if attempt == _RACE_ATTEMPTS:
                raise
            log.info("schema upgrade collided with another process (%s); retrying", exc)
            time.sleep(0.2 * attempt)


def _upgrade_once(engine: Engine, schema: Schema) -> None:
    with engine.connect() as conn:
        _lock(conn)
        cfg = alembic_config(conn, schema)
        current = MigrationContext.configure(
            conn, opts={"version_table": schema.version_table}).get_current_revision()
        if current is None:
            _stamp_if_created_by_create_all(conn, cfg, schema)
        else:
            _check_known(cfg, current, engine)
        command.upgrade(cfg, "head")
        conn.commit()


def _lock(conn: Connection) -> None:
    """Hold the database's write lock until commit, so only one process migrates at a time."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # pysqlite would run DDL outside any transaction; an explicit IMMEDIATE transaction
        # makes the whole upgrade atomic and makes a second process wait (busy_timeout).
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")


def _stamp_if_created_by_create_all(conn: Connection, cfg: Config, schema: Schema) -> None:
    if not schema.initial_tables or schema.initial_revision is None:
        return
    present = schema.initial_tables & set(inspect(conn).get_table_names())
    if present == schema.initial_tables:
        log.info("database predates migrations; stamping it at revision %s",
                 schema.initial_revision)
        command.stamp(cfg, schema.initial_revision)
    elif present:
        raise _PartialSchemaError(
            f"the database has some of verirag's tables ({', '.join(sorted(present))}) but not "
            f"all, and no migration history; restore it from a backup or point "
            f"VERIRAG_DATABASE_URL at an empty database"
        )


def _check_known(cfg: Config, current: str, engine: Engine) -> None:
    try:
        ScriptDirectory.from_config(cfg).get_revision(current)
    except CommandError as exc:
        raise KnowledgeBaseError(
            f"the database at {engine.url.render_as_string(hide_password=True)} is at schema "
            f"revision {current!r}, which this verirag does not know (a newer version wrote "
            f"it); upgrade verirag to open it"
        ) from exc
