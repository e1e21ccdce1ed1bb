"""The embedded PostgreSQL (from the `pgserver` wheel) used when DATABASE_URL is unset.

pgserver reference-counts the processes that use one data dir and stops the postmaster when the
last of them exits, so `serve` and `set-role` run in one working directory share the database.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from app.core.settings import Settings

DATABASE_NAME = "mockinterview"


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded server and return a `postgresql://` URL for our database."""
    if "XDG_RUNTIME_DIR" not in os.environ:  # platformdirs (used by pgserver) warns without it
        runtime_dir = Path(tempfile.gettempdir()) / f"mockinterview-runtime-{os.getuid()}"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    import pgserver  # lazy: heavy import, only when the embedded default is used

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgresql://postgres@/{DATABASE_NAME}?host={quote(str(pgdata))}"


def resolve_database_url(settings: Settings) -> tuple[str, bool]:
    """The database URL and whether it is the embedded server (which we migrate ourselves)."""
    if settings.database_url:
        return settings.database_url, False
    return start_embedded_postgres(settings.data_dir), True
