"""A job worker on the PostgreSQL job queue (pgqueuer): runs deliveries and the periodic jobs
(reminders, the Telegram bot's updates, pruning the queue's history).

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

from app.jobs.channels import build_channels, telegram_bot, webhook_http_client
from app.jobs.housekeeping import prune_job_history_once, receive_telegram_updates
from app.jobs.reminders import remind_due_interviews
from resolvers.deliveries.channels import Channels
from resolvers.deliveries.queue import DELIVER, PRUNE_JOB_HISTORY, REMINDERS, TELEGRAM_UPDATES
from resolvers.deliveries.sending import backoff, give_up, send_delivery
from resolvers.unit_of_work import Services, UnitOfWork

logger = logging.getLogger("mockinterview.jobs")
POOL_SIZE = 4  # the LISTEN connection, dequeues and status logs, the scheduler


async def deliver_job(services: Services, channels: Channels, job: Job) -> None:
    """One `deliver` job. An unexpected error (the database away, a bug) re-queues the job with
    backoff rather than dropping it, which would leave its delivery PENDING with no job."""
    uow = UnitOfWork.open(services)
    delivery_id = int((job.payload or b"0").decode())
    try:
        outcome = await send_delivery(uow, channels, delivery_id)
    except Exception as exc:
        if job.attempts + 1 >= services.settings.delivery_max_attempts:
            await _give_up(services, delivery_id, exc)
            raise
        logger.warning("delivery job %s failed; retrying", job.id, exc_info=True)
        raise RetryRequested(delay=backoff(uow, job.attempts + 1), reason=type(exc).__name__) from exc
    finally:
        await uow.close()
    if outcome.retry_after is not None:
        raise RetryRequested(delay=outcome.retry_after, reason="delivery attempt failed")


async def _give_up(services: Services, delivery_id: int, exc: Exception) -> None:
    uow = UnitOfWork.open(services)
    try:
        await give_up(uow, delivery_id, f"gave up: {type(exc).__name__}")
    except Exception:  # the database may be what failed; pgqueuer's log keeps the job's error
        logger.warning("could not dead-letter delivery %s", delivery_id, exc_info=True)
    finally:
        await uow.close()


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
        # At most JOBS_BATCH_SIZE jobs run at once (pgqueuer wants the cap to be twice the dequeue
        # batch): unbounded, a backlog of thousands would each wait for one of the pool's connections
        # and fail on the pool's timeout.
        batch = max(1, settings.jobs_batch_size // 2)
        self._task = asyncio.create_task(
            self._queuer.run(
                batch_size=batch, max_concurrent_tasks=2 * batch, dequeue_timeout=timedelta(seconds=5)
            ),
            name="job-worker",
        )

    def _register(self, queuer: PgQueuer) -> None:
        services = self._services
        assert self._http is not None
        channels = build_channels(services.settings, self._http)

        @queuer.entrypoint(DELIVER)
        async def deliver(job: Job) -> None:
            await deliver_job(services, channels, job)

        self._register_periodic(queuer)

    def _register_periodic(self, queuer: PgQueuer) -> None:
        """Schedules run once per tick across all workers (pgqueuer locks the schedule row)."""
        services, settings = self._services, self._services.settings
        if self._reminders:

            @queuer.schedule(REMINDERS, settings.reminder_schedule)
            async def reminders(schedule: Schedule) -> None:
                await remind_due_interviews(services)

        assert self._http is not None
        bot = telegram_bot(settings, self._http)
        if bot is not None:

            @queuer.schedule(TELEGRAM_UPDATES, settings.telegram_poll_schedule)
            async def telegram_updates(schedule: Schedule) -> None:
                await receive_telegram_updates(services, bot)

        @queuer.schedule(PRUNE_JOB_HISTORY, settings.jobs_retention_schedule)
        async def prune_history(schedule: Schedule) -> None:
            await prune_job_history_once(services)

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
