"""Turning PostgreSQL constraint violations into CONFLICT errors."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"


def integrity_sqlstate(exc: IntegrityError) -> str | None:
    """The SQLSTATE behind an IntegrityError raised through asyncpg."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state is None:
        state = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return str(state) if state is not None else None


async def flush_or_conflict(
    session: AsyncSession, messages: dict[str, str], *, field: str | None = None
) -> None:
    """Flush inside a savepoint; a violation whose SQLSTATE is in `messages` becomes CONFLICT.

    The savepoint keeps the surrounding transaction usable, so nothing half-written remains.
    """
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        message = messages.get(integrity_sqlstate(exc) or "")
        if message is None:
            raise
        raise (Conflict(message, field=field) if field else Conflict(message)) from exc
