"""What every verirag table set shares, written once: column types, timestamps, migration homes.

The knowledge tables, the conversation tables and the user tables are separate declarative
bases on purpose: each has its own metadata, revisions folder and Alembic version table, so one
can gain a revision without the others (and the app's tables never become the knowledge layer's
business). What they share is only how a table set is *declared* — JSON for dict and list
columns, timezone-aware UTC timestamps, revisions in a ``migrations/versions`` folder beside
the module — and that lives here so the three cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, MetaData

# The Python annotations a mapped column may use for JSON data; a base uses whichever it needs.
JSON_TYPES: dict[Any, Any] = {dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON}


def utcnow() -> datetime:
    """Column default for timestamps: aware UTC, so SQLite and PostgreSQL store the same."""
    return datetime.now(UTC)


def as_utc(at: datetime) -> datetime:
    """A stored timestamp as aware UTC: SQLite hands back naive datetimes for what was stored
    as UTC, PostgreSQL aware ones."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Schema:
    """One independently versioned set of tables in the shared database.

    The knowledge layer's tables are one; the app's conversation and user tables are others,
    each with its own revisions folder and version table, migrated by the same machinery
    (:mod:`knowledge.store.migrate`; the app may import the knowledge layer, never the reverse).
    """

    name: str
    versions_dir: Path
    version_table: str
    metadata: MetaData
    initial_revision: str | None = None
    initial_tables: frozenset[str] = frozenset()

    @classmethod
    def beside(cls, module_file: str, name: str, version_table: str, metadata: MetaData,
               ) -> Schema:
        """The schema whose revisions sit in ``migrations/versions`` next to ``module_file``.

        Every table set keeps its revisions beside the module declaring its rows, so the
        folder is derived rather than spelled out (and mistyped) in each.
        """
        versions = Path(module_file).resolve().parent / "migrations" / "versions"
        return cls(name, versions, version_table, metadata)
