"""User and role tables: their own schema (own revisions and version table) in the shared
database, migrated on open like the knowledge and conversation tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from knowledge.store.schema import JSON_TYPES, Schema, utcnow


class AuthBase(DeclarativeBase):
    type_annotation_map = JSON_TYPES


class UserRow(AuthBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id, salt inside
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    grants: Mapped[list[GrantRow]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="GrantRow.pack")


class GrantRow(AuthBase):
    __tablename__ = "user_grants"
    __table_args__ = (UniqueConstraint("user_id", "pack", name="uq_grant_user_pack"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    pack: Mapped[str] = mapped_column(String(64))  # a pack name, or "*" for every pack
    role: Mapped[str] = mapped_column(String(16))
    clearance: Mapped[list[Any]] = mapped_column(default=list)

    user: Mapped[UserRow] = relationship(back_populates="grants")


class ApiKeyRow(AuthBase):
    """An API key or a web sign-in token: only its SHA-256 is kept (the key is random, 32
    bytes: no salt or slow hash is needed to make a stolen table useless, and every request
    can afford to check it)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown in lists, not secret
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128), default="")
    kind: Mapped[str] = mapped_column(String(8), default="api")  # "api", or "web": a sign-in
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)

    user: Mapped[UserRow] = relationship()


SCHEMA = Schema.beside(__file__, "auth", "alembic_version_auth", AuthBase.metadata)
