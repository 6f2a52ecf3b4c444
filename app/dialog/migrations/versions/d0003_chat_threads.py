"""chat threads: a stateless client's conversation fingerprint -> its stored session

Revision ID: d0003
Revises: d0002
Create Date: 2026-12-03 07:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0003"
down_revision: str | Sequence[str] | None = "d0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("chat_threads",
    sa.Column("fingerprint", sa.String(length=64), nullable=False),
    sa.Column("session_id", sa.String(length=32), nullable=False),
    sa.Column("turns", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["session_id"], ["chat_sessions.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("fingerprint")
    )
    with op.batch_alter_table("chat_threads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_threads_session_id"), ["session_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_threads_session_id"))
    op.drop_table("chat_threads")
