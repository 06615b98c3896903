"""Backups: ``orfi backup`` and ``orfi restore`` for SQLite and PostgreSQL."""
