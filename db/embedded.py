"""The embedded PostgreSQL (from the `pgserver` wheel) used when DATABASE_URL is unset.

pgserver reference-counts the processes that use one data dir and stops the postmaster when the
last of them exits, so `serve` and `set-role` run in one working directory share the database.
Every command finds it the same way: `DATA_DIR/pgdata` (DATA_DIR defaults to `./.mockinterview`,
relative to the working directory). Only `serve` creates it (`require_existing=False`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from app.core.settings import Settings

DATABASE_NAME = "mockinterview"


class NoEmbeddedDatabase(RuntimeError):
    """DATA_DIR holds no embedded database and the command may not create one."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        super().__init__(
            f"no embedded database in {pgdata} (DATA_DIR, default ./.mockinterview, is relative to the "
            f"working directory, here {Path.cwd()}). Run `mockinterview serve` first (it creates and "
            "migrates it), run this command in the directory you ran `serve` in, or set DATA_DIR (or "
            "DATABASE_URL for an external database)."
        )


def embedded_pgdata(data_dir: Path) -> Path:
    """Where the embedded database of `data_dir` lives (absolute)."""
    return (data_dir / "pgdata").resolve()


def embedded_database_exists(data_dir: Path) -> bool:
    """Whether `serve` has created the embedded database of `data_dir` (initdb wrote PG_VERSION)."""
    return (embedded_pgdata(data_dir) / "PG_VERSION").exists()


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded server and return a `postgresql://` URL for our database."""
    if "XDG_RUNTIME_DIR" not in os.environ:  # platformdirs (used by pgserver) warns without it
        runtime_dir = Path(tempfile.gettempdir()) / f"mockinterview-runtime-{os.getuid()}"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    import pgserver  # lazy: heavy import, only when the embedded default is used

    pgdata = embedded_pgdata(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgresql://postgres@/{DATABASE_NAME}?host={quote(str(pgdata))}"


def resolve_database_url(settings: Settings, *, require_existing: bool = False) -> tuple[str, bool]:
    """The database URL and whether it is the embedded server (which we migrate ourselves).

    With `require_existing`, a missing embedded database raises `NoEmbeddedDatabase` instead of
    being created (a command run in another directory would otherwise get a new, empty one)."""
    if settings.database_url:
        return settings.database_url, False
    if require_existing and not embedded_database_exists(settings.data_dir):
        raise NoEmbeddedDatabase(embedded_pgdata(settings.data_dir))
    return start_embedded_postgres(settings.data_dir), True
