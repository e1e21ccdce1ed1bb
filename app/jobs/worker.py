"""A job worker on the PostgreSQL job queue (pgqueuer): runs deliveries and the periodic reminders.

`serve` runs one in-process (`JOBS_IN_PROCESS`); `mockinterview worker` runs one alone. Any number
of workers share the queue: a job is claimed by one of them (`FOR UPDATE SKIP LOCKED`), LISTEN/NOTIFY
wakes them when jobs arrive, and a job whose worker died is picked up again after its heartbeat
lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from pgqueuer import Job, PgQueuer, RetryRequested
from pgqueuer.models import Schedule

from app.jobs.channels import build_channels, webhook_http_client
from app.jobs.reminders import remind_due_interviews
from resolvers.deliveries.queue import DELIVER, REMINDERS
from resolvers.deliveries.sending import send_delivery
from resolvers.unit_of_work import Services, UnitOfWork

logger = logging.getLogger("mockinterview.jobs")
POOL_SIZE = 4  # the LISTEN connection, dequeues and status logs, the scheduler


class JobWorker:
    """Start with `start()`, stop with `stop()` (waits for the jobs in hand)."""

    def __init__(self, services: Services, database_url: str, *, reminders: bool = True) -> None:
        self._services = services
        self._url = database_url
        self._reminders = reminders
        self._task: asyncio.Task[None] | None = None
        self._queuer: PgQueuer | None = None
        self._pool: Any = None
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Connect and start taking jobs (idempotent)."""
        if self._task is not None:
            return
        self._pool = await asyncpg.create_pool(self._url, min_size=1, max_size=POOL_SIZE)
        self._http = webhook_http_client()
        self._queuer = PgQueuer.from_asyncpg_pool(self._pool)
        self._register(self._queuer)
        settings = self._services.settings
        self._task = asyncio.create_task(
            self._queuer.run(batch_size=settings.jobs_batch_size, dequeue_timeout=timedelta(seconds=5)),
            name="job-worker",
        )

    def _register(self, queuer: PgQueuer) -> None:
        services = self._services
        assert self._http is not None
        channels = build_channels(services.settings, self._http)

        @queuer.entrypoint(DELIVER)
        async def deliver(job: Job) -> None:
            uow = UnitOfWork.open(services)
            try:
                outcome = await send_delivery(uow, channels, int((job.payload or b"0").decode()))
            finally:
                await uow.close()
            if outcome.retry_after is not None:
                raise RetryRequested(delay=outcome.retry_after, reason="delivery attempt failed")

        if self._reminders:

            @queuer.schedule(REMINDERS, services.settings.reminder_schedule)
            async def reminders(schedule: Schedule) -> None:
                await remind_due_interviews(services)

    async def stop(self) -> None:
        """Stop taking jobs, let the running ones finish, disconnect."""
        task, self._task = self._task, None
        if self._queuer is not None:
            self._queuer.shutdown.set()
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=30)
            except Exception:  # a worker that failed or hangs must not block shutdown
                logger.warning("job worker did not stop cleanly", exc_info=True)
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
