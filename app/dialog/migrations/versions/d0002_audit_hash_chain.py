"""audit log hash chain: prev_hash and row_hash on every row, existing rows chained

Revision ID: d0002
Revises: d0001
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.dialog.audit_chain import row_digest

revision: str = "d0002"
down_revision: str | Sequence[str] | None = "d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=False,
                                   server_default=""))
    # Chain the rows already there, oldest first, as they stand now.
    conn = op.get_bind()
    log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime),
                   sa.column("actor", sa.String), sa.column("action", sa.String),
                   sa.column("pack", sa.String), sa.column("detail", sa.JSON),
                   sa.column("prev_hash", sa.String), sa.column("row_hash", sa.String))
    prev = ""
    rows = conn.execute(sa.select(log.c.id, log.c.at, log.c.actor, log.c.action, log.c.pack,
                                  log.c.detail).order_by(log.c.id)).all()
    for row_id, at, actor, action, pack, detail in rows:
        digest = row_digest(prev, row_id, at, actor, action, pack, dict(detail or {}))
        conn.execute(sa.update(log).where(log.c.id == row_id)
                     .values(prev_hash=prev, row_hash=digest))
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
