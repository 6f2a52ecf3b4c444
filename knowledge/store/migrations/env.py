"""Alembic environment for verirag's SQL store, configured from code rather than alembic.ini.

:mod:`knowledge.store.migrate` opens the connection (and, on SQLite, takes the write lock) and
passes it in ``config.attributes["connection"]``; running migrations on that same connection is
what keeps two processes upgrading one database at once from interleaving. There is no offline
(``--sql``) mode: verirag always migrates a live database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from knowledge.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "verirag's migrations run through knowledge.store.migrate.upgrade(engine), which passes "
        "a connection in config.attributes['connection']; the alembic CLI is not configured"
    )

# The schema being migrated (knowledge tables by default, or the app's conversation tables)
# is chosen by knowledge.store.migrate through the config's attributes.
target = context.config.attributes.get("metadata", Base.metadata)


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Compare only this schema's tables: the other schema shares the database."""
    return type_ != "table" or name in target.tables


context.configure(
    connection=connection,
    include_name=_ours,
    target_metadata=target,
    version_table=context.config.attributes.get("version_table", "alembic_version"),
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
