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

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
