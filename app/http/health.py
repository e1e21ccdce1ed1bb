"""Liveness and readiness endpoints."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db.migrate import applied_revisions, migration_status

logger = logging.getLogger("mockinterview")


class MigrationGate:
    """Whether the database has this release's migrations: checked once at startup and, while it
    has not, again on each readiness probe until it has (then never again: migrations only go up
    while instances run; a newer release's migrations count as applied)."""

    def __init__(self) -> None:
        self.at_head = False

    @classmethod
    async def at_startup(cls, engine: AsyncEngine) -> MigrationGate:
        gate = cls()
        try:
            async with engine.connect() as connection:
                await gate.pending(connection)
        except Exception as exc:  # the database may come up later: /readyz checks again
            logger.warning(
                "could not check the database's migrations at startup: %s: %s", type(exc).__name__, exc
            )
        return gate

    async def pending(self, connection: AsyncConnection) -> bool:
        """True while some of this release's migrations are not applied (one query until they are)."""
        if self.at_head:
            return False
        status = migration_status(await applied_revisions(connection))
        if status.pending:
            logger.warning("database migrations pending (%s): run `mockinterview migrate`", status.describe())
        self.at_head = not status.pending
        return status.pending


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The process can serve: its database answers and has this release's migrations."""
    gate: MigrationGate | None = getattr(request.app.state, "migrations", None)
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            pending = gate is not None and await gate.pending(connection)
    except Exception:  # any failure means "not ready"; details go to the log
        logger.warning("readiness check failed", exc_info=True)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    if pending:
        return JSONResponse({"status": "migrations pending"}, status_code=503)
    return JSONResponse({"status": "ready"})
