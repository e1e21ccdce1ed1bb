"""Pruning the job queue's history: pgqueuer appends a `pgqueuer_log` row for every job it settles
and folds them into `pgqueuer_statistics`, and keeps both forever; a periodic job
(`JOBS_RETENTION_SCHEDULE`) deletes what is older than the retention settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, text

from resolvers.unit_of_work import UnitOfWork

BATCH = 5000  # rows per transaction: short locks, bounded WAL per commit
PRUNE = {
    "pgqueuer_log": text(
        "DELETE FROM pgqueuer_log WHERE id IN "
        "(SELECT id FROM pgqueuer_log WHERE created < :cutoff ORDER BY id LIMIT :batch)"
    ),
    "pgqueuer_statistics": text(
        "DELETE FROM pgqueuer_statistics WHERE id IN "
        "(SELECT id FROM pgqueuer_statistics WHERE created < :cutoff ORDER BY id LIMIT :batch)"
    ),
}


@dataclass(frozen=True)
class Pruned:
    log: int
    statistics: int


async def _prune(uow: UnitOfWork, table: str, keep: timedelta) -> int:
    cutoff = uow.now() - keep
    total = 0
    while True:
        async with uow.db.transaction() as session:
            result = await session.execute(PRUNE[table], {"cutoff": cutoff, "batch": BATCH})
            deleted = int(cast(CursorResult[Any], result).rowcount)
        total += deleted
        if deleted < BATCH:
            return total


async def prune_job_history(uow: UnitOfWork) -> Pruned:
    """Delete job log rows older than JOBS_LOG_RETENTION_HOURS and statistics older than
    JOBS_STATISTICS_RETENTION_DAYS; how many of each."""
    settings = uow.settings
    return Pruned(
        log=await _prune(uow, "pgqueuer_log", timedelta(hours=settings.jobs_log_retention_hours)),
        statistics=await _prune(
            uow, "pgqueuer_statistics", timedelta(days=settings.jobs_statistics_retention_days)
        ),
    )
