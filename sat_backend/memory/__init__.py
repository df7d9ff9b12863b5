"""Persistent storage: SQLAlchemy ORM mapping, storage API and Alembic migrations."""
