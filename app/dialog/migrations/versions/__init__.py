"""Alembic revisions of the conversation tables (see ``app.dialog.records.SCHEMA``)."""
