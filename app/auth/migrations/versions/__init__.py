"""Alembic revisions of the user and role tables (see ``app.auth.records.SCHEMA``)."""
