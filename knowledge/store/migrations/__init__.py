"""Alembic migrations for the SQL store; run them with :func:`knowledge.store.migrate.upgrade`.

This folder is Alembic's ``script_location``. It is a package only so that it ships with the
wheel; nothing imports it.
"""
