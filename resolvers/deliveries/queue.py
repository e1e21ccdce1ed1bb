"""The job queue (pgqueuer) as the domain sees it: jobs inserted on the caller's database connection,
so they commit or roll back with the change that caused them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pgqueuer import AsyncpgDriver, Queries
from sqlalchemy.ext.asyncio import AsyncSession

DELIVER = "deliver"  # entrypoint: payload is a delivery id
REMINDERS = "reminders"  # periodic entrypoints
TELEGRAM_UPDATES = "telegram_updates"
PRUNE_JOB_HISTORY = "prune_job_history"


async def _driver_connection(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # Jobs must share the change's transaction: outside one they would commit on their own.
        raise RuntimeError("enqueue needs an open transaction on the session")
    return raw


async def enqueue_deliveries(
    session: AsyncSession, delivery_ids: list[int], delays: list[timedelta | None]
) -> None:
    """One `deliver` job per delivery, in the session's transaction. The dedupe key keeps a delivery
    from being queued twice while a job for it is waiting or running."""
    if not delivery_ids:
        return
    queries = Queries(AsyncpgDriver(await _driver_connection(session)))
    await queries.enqueue(
        [DELIVER] * len(delivery_ids),
        [str(i).encode() for i in delivery_ids],
        [0] * len(delivery_ids),
        execute_after=delays,
        dedupe_key=[f"delivery:{i}" for i in delivery_ids],
        on_conflict="skip",
    )
