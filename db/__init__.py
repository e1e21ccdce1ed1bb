"""Database layer: ORM models, engine/session helpers and alembic migrations."""
