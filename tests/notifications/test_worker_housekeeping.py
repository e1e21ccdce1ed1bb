"""Where jobs run and what they leave: `serve` runs a worker in-process unless `JOBS_IN_PROCESS=false`,
the periodic retention job prunes the job queue's log and statistics, and a worker neither drops a job
on an unexpected error nor runs more jobs at once than it has connections for."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pgqueuer import AsyncpgDriver, Job, Queries, RetryRequested
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from app.jobs.worker import deliver_job
from db.models import Delivery
from resolvers.deliveries.channels import Outgoing
from resolvers.deliveries.queue import DELIVER
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient
from tests.notifications.delivery_support import running_workers, settled, webhook_receiver, worker_services
from tests.notifications.test_job_queue import add_webhook, move_points
from tests.process import running_server


async def _enqueue_orphan_job(database_url: str) -> int:
    """A `deliver` job for a delivery that does not exist: any worker settles it at once."""
    connection = await asyncpg.connect(database_url)
    try:
        [job_id] = await Queries(AsyncpgDriver(connection)).enqueue([DELIVER], [b"0"], [0])
    finally:
        await connection.close()
    return int(job_id)


async def _job_status(engine: AsyncEngine, job_id: int) -> str | None:
    async with engine.connect() as conn:
        status = (
            await conn.execute(text("SELECT status::text FROM pgqueuer WHERE id = :id"), {"id": job_id})
        ).scalar()
        return str(status) if status is not None else None


@pytest.mark.slow
async def test_serve_runs_a_worker_in_process_unless_turned_off(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, database_url: str
) -> None:
    job_id = await _enqueue_orphan_job(database_url)
    env = {"DATABASE_URL": database_url, "REDIS_URL": "", "SECRET_KEY": app_state.settings.secret_key or ""}
    with running_server({**env, "JOBS_IN_PROCESS": "false"}):
        await asyncio.sleep(3)  # ready for a while: an in-process worker would have taken it by now
        assert await _job_status(engine, job_id) == "queued"
        async with engine.connect() as conn:
            schedules = (await conn.execute(text("SELECT count(*) FROM pgqueuer_schedules"))).scalar_one()
        assert schedules == 0  # no worker registered its periodic jobs either
    with running_server(env):
        for _ in range(100):
            if await _job_status(engine, job_id) is None:
                break
            await asyncio.sleep(0.2)
        assert await _job_status(engine, job_id) is None  # taken and settled
    async with engine.connect() as conn:
        logged = (
            await conn.execute(
                text("SELECT status::text FROM pgqueuer_log WHERE job_id = :id"), {"id": job_id}
            )
        ).scalars()
        entrypoints = set((await conn.execute(text("SELECT entrypoint FROM pgqueuer_schedules"))).scalars())
    assert "successful" in set(logged)
    assert {"reminders", "prune_job_history"} <= entrypoints


async def test_the_retention_job_prunes_old_job_history(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, database_url: str
) -> None:
    now = app_state.clock.now()
    async with engine.begin() as conn:
        for age, job_id in ((timedelta(days=8), 1), (timedelta(days=6), 2), (timedelta(minutes=1), 3)):
            await conn.execute(
                text(
                    "INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated) "
                    "VALUES (:created, :job_id, 'successful', 0, 'deliver', true)"
                ),
                {"created": now - age, "job_id": job_id},
            )
        for age, count in ((timedelta(days=91), 5), (timedelta(days=10), 7)):
            await conn.execute(
                text(
                    "INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint) "
                    "VALUES (:created, :count, 0, 'successful', 'deliver')"
                ),
                {"created": now - age, "count": count},
            )
    services = worker_services(app_state, engine, jobs_retention_schedule="* * * * * *")
    async with running_workers(services, database_url):  # the periodic job, once a second here
        for _ in range(100):
            async with engine.connect() as conn:
                kept = sorted((await conn.execute(text("SELECT job_id FROM pgqueuer_log"))).scalars())
                counts = sorted((await conn.execute(text("SELECT count FROM pgqueuer_statistics"))).scalars())
            if kept[:2] == [2, 3] and counts == [7]:
                break
            await asyncio.sleep(0.2)
    assert kept[:2] == [2, 3]  # a week of log by default (JOBS_LOG_RETENTION_HOURS)
    assert counts == [7]  # 90 days of statistics (JOBS_STATISTICS_RETENTION_DAYS)


class Crashing:
    """A channel whose first sends raise what no channel should (a bug, the database away)."""

    def __init__(self, crashes: int) -> None:
        self.crashes = crashes

    async def send(self, item: Outgoing) -> int | None:
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("unexpected")
        return 200


def _job(delivery_id: int, attempts: int) -> Job:
    now = datetime.now(UTC)
    return Job(
        id=1, priority=0, created=now, updated=now, heartbeat=now, execute_after=now, status="picked",
        entrypoint=DELIVER, payload=str(delivery_id).encode(), attempts=attempts, queue_manager_id=None,
        headers=None,
    )  # fmt: skip


async def test_an_unexpected_error_requeues_the_job_instead_of_dropping_it(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services
) -> None:
    member = await committing_client.sign_up("crash")
    await add_webhook(committing_client, member, "http://127.0.0.1:9/hook")
    services = worker_services(app_state, engine, delivery_max_attempts=3)
    await move_points(services, member, 1)
    async with engine.connect() as conn:
        delivery_id = (await conn.execute(select(Delivery.id))).scalar_one()
    channels = {"WEBHOOK": Crashing(crashes=5)}
    with pytest.raises(RetryRequested) as retry:
        await deliver_job(services, channels, _job(delivery_id, attempts=0))
    assert retry.value.delay == timedelta(seconds=services.settings.delivery_retry_base_seconds)
    await deliver_job(services, {"WEBHOOK": Crashing(crashes=0)}, _job(delivery_id, attempts=1))
    [row] = await settled(engine, 1)
    assert (row.status, row.attempts) == ("SENT", 1)  # the crashed attempt rolled back
    # The last attempt gives up: the delivery is dead-lettered (staff see it), not left PENDING.
    await move_points(services, member, 1)
    async with engine.connect() as conn:
        second = (await conn.execute(select(Delivery.id).where(Delivery.id != delivery_id))).scalar_one()
    with pytest.raises(RuntimeError):  # pgqueuer logs the job's last attempt as an exception
        await deliver_job(services, channels, _job(second, attempts=2))
    async with engine.connect() as conn:
        given_up = (await conn.execute(select(Delivery).where(Delivery.id == second))).one()
    assert (given_up.status, given_up.last_error) == ("FAILED", "gave up: RuntimeError")


async def test_a_backlog_larger_than_the_pool_is_sent_without_pool_timeouts(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, database_url: str
) -> None:
    """Jobs run at most JOBS_BATCH_SIZE at a time: an unbounded worker started all 60 at once, and
    those waiting for one of the 4 pooled connections (each held 0.3 s by a slow receiver) failed on
    the pool's timeout, their deliveries left PENDING with no job."""
    async with webhook_receiver() as (url, receiver):
        receiver.delay = 0.3
        member = await committing_client.sign_up("backlog")
        await add_webhook(committing_client, member, url, receiver)
        services = worker_services(app_state, engine, jobs_batch_size=4)
        await move_points(services, member, 60)
        small_pool = create_async_engine(
            engine.url.render_as_string(hide_password=False), pool_size=4, max_overflow=0, pool_timeout=2
        )
        try:
            services = dataclasses.replace(
                services, sessionmaker=async_sessionmaker(small_pool, expire_on_commit=False)
            )
            async with running_workers(services, database_url):
                rows = await settled(engine, 60, within=120)
        finally:
            await small_pool.dispose()
    assert {row.status for row in rows} == {"SENT"}
    assert len(receiver.received) == 60
