"""Run alembic migrations programmatically (used by the CLI, the server and the tests), and tell
whether a database is behind this release's migrations (`serve` and `/readyz` check it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from db.session import create_database_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class MigrationStatus:
    """Where a database stands against this release's migration scripts."""

    current: tuple[str, ...]  # the revisions in its alembic_version table (none: never migrated)
    heads: tuple[str, ...]  # the latest revisions of our scripts
    pending: bool  # some of our migrations are not applied: run `mockinterview migrate`

    def describe(self) -> str:
        return f"at {', '.join(self.current) or 'no migration'}, this release needs {', '.join(self.heads)}"


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def _applied(scripts: ScriptDirectory, current: Sequence[str]) -> set[str] | None:
    """The revisions `current` implies (each and its ancestors); None when one is not among our
    scripts: a newer release migrated the database (expand/contract lets this release run on it)."""
    applied: set[str] = set()
    for revision in current:
        try:
            scripts.get_revision(revision)
        except CommandError:
            return None
        applied.update(r.revision for r in scripts.iterate_revisions(revision, "base") if r is not None)
    return applied


def migration_status(current: Sequence[str]) -> MigrationStatus:
    """Compare the revisions a database records with the heads of our scripts."""
    scripts = _scripts()
    heads = tuple(scripts.get_heads())
    applied = _applied(scripts, current)
    pending = applied is not None and not set(heads) <= applied
    return MigrationStatus(current=tuple(current), heads=heads, pending=pending)


async def applied_revisions(connection: AsyncConnection) -> tuple[str, ...]:
    """The revisions recorded in the database's alembic_version table (empty when it has none)."""
    if not await connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL")):
        return ()
    rows = await connection.scalars(text("SELECT version_num FROM alembic_version ORDER BY 1"))
    return tuple(rows)


async def database_migration_status(database_url: str) -> MigrationStatus:
    """`migration_status` of the database at `database_url`, over one short-lived connection."""
    engine = create_database_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            current = await applied_revisions(connection)
    finally:
        await engine.dispose()
    return migration_status(current)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
