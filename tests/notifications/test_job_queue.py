"""The job queue: jobs commit with the change (never for a rollback), N workers send each delivery
once, failures are retried with exponential backoff and dead-lettered where staff see them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import asyncpg
import pytest
from pgqueuer import AsyncpgDriver, Queries
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.enums import LedgerKind, NotificationKind
from app.jobs.channels import build_channels, webhook_http_client
from db.models import Delivery
from resolvers.deliveries.sending import send_delivery
from resolvers.points import change_balance
from resolvers.unit_of_work import Services, UnitOfWork
from tests.helpers import GraphQLClient, Member, db_id
from tests.notifications.delivery_support import (
    Receiver,
    queued_jobs,
    running_workers,
    settled,
    webhook_receiver,
    worker_services,
)

CREATE_WEBHOOK = """mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { id url events } } }"""
FAILED = """query { failedDeliveries(first: 10) { edges { node { id kind channel status attempts
  lastError responseStatus } } } }"""
WEBHOOKS = """query { webhooks { id disabledAt consecutiveFailures
  deliveries(first: 50) { edges { node { status responseStatus attempts kind } } } } }"""


async def add_webhook(
    client: GraphQLClient, member: Member, url: str, receiver: Receiver | None = None
) -> str:
    data = await client.data(
        CREATE_WEBHOOK, {"input": {"url": url, "events": ["POINTS_CHANGED"]}}, token=member.access_token
    )
    if receiver is not None:
        receiver.secret = data["createWebhook"]["secret"]
    webhook_id: str = data["createWebhook"]["webhook"]["id"]
    return webhook_id


async def move_points(services: Services, member: Member, times: int) -> None:
    """`times` ledger movements for the member, each committed on its own."""
    for _ in range(times):
        uow = UnitOfWork.open(services)
        try:
            async with uow.db.transaction() as session:
                await change_balance(session, db_id(member.id), 1, LedgerKind.ADJUSTMENT, reason="t", uow=uow)
        finally:
            await uow.close()


async def test_job_queue_tables_are_what_the_installed_library_expects(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        plan = await Queries(AsyncpgDriver(connection)).plan_upgrade()
    finally:
        await connection.close()
    assert list(plan.statements) == []


async def test_a_rolled_back_change_queues_nothing_and_a_committed_one_queues_its_delivery(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services
) -> None:
    member = await committing_client.sign_up("hooked")
    await add_webhook(committing_client, member, "http://127.0.0.1:9/hook")
    services = worker_services(app_state, engine)

    async def failing_change() -> None:
        uow = UnitOfWork.open(services)
        try:
            async with uow.db.transaction() as session:
                await change_balance(session, db_id(member.id), 5, LedgerKind.ADJUSTMENT, reason="x", uow=uow)
                raise RuntimeError("the change fails after the notification was stored")
        finally:
            await uow.close()

    with pytest.raises(RuntimeError):
        await failing_change()
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Delivery))).scalar_one() == 0
    assert await queued_jobs(engine) == 0
    await move_points(services, member, 1)
    async with engine.connect() as conn:
        [delivery] = (await conn.execute(select(Delivery))).all()
    assert (delivery.kind, delivery.channel, delivery.status) == ("POINTS_CHANGED", "WEBHOOK", "PENDING")
    assert await queued_jobs(engine) == 1


async def test_two_workers_send_every_delivery_exactly_once(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, database_url: str
) -> None:
    async with webhook_receiver() as (url, receiver):
        member = await committing_client.sign_up("busy")
        await add_webhook(committing_client, member, url, receiver)
        services = worker_services(app_state, engine)
        await move_points(services, member, 30)
        async with running_workers(services, database_url, count=2):
            rows = await settled(engine, 30)
        assert {row.status for row in rows} == {"SENT"}
        ids = [item["id"] for item in receiver.received]
        assert sorted(int(i) for i in ids) == [row.id for row in rows]  # each once, none twice
        assert receiver.bad_signatures == 0
        log = await committing_client.data(WEBHOOKS, token=member.access_token)
        [hook] = log["webhooks"]
        statuses = {(e["node"]["status"], e["node"]["responseStatus"]) for e in hook["deliveries"]["edges"]}
        assert statuses == {("SENT", 200)}


async def test_racing_attempts_at_one_delivery_send_it_once(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services
) -> None:
    """Even two workers holding jobs for the same delivery (a re-picked job) send it once: the
    delivery row is locked for the attempt and settled when the lock is released."""
    async with webhook_receiver() as (url, receiver):
        member = await committing_client.sign_up("raced")
        await add_webhook(committing_client, member, url, receiver)
        services = worker_services(app_state, engine)
        await move_points(services, member, 1)
        async with engine.connect() as conn:
            delivery_id = (await conn.execute(select(Delivery.id))).scalar_one()
        async with webhook_http_client() as http:
            channels = build_channels(services.settings, http)

            async def attempt() -> str:
                uow = UnitOfWork.open(services)
                try:
                    return (await send_delivery(uow, channels, delivery_id)).status
                finally:
                    await uow.close()

            outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
        assert outcomes.count("SENT") >= 1
        assert len(receiver.received) == 1


async def test_failures_are_retried_with_backoff_then_dead_lettered_for_staff(
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    app_state: Services,
    database_url: str,
) -> None:
    async with webhook_receiver() as (url, receiver):
        receiver.status_for = lambda count: 500
        member, moderator = await committing_client.sign_up("failing"), await committing_client.sign_up("mod")
        await add_webhook(committing_client, member, url, receiver)
        services = worker_services(
            app_state,
            engine,
            delivery_max_attempts=3,
            delivery_retry_base_seconds=0.3,
            webhook_max_consecutive_failures=3,
        )
        await move_points(services, member, 1)
        started = time.monotonic()
        async with running_workers(services, database_url):
            [row] = await settled(engine, 1, within=30)
        assert (row.status, row.attempts, row.response_status) == ("FAILED", 3, 500)
        assert len(receiver.received) == 3
        assert len({item["id"] for item in receiver.received}) == 1  # the same delivery each time
        assert time.monotonic() - started >= 0.3 + 0.6  # waited base, then twice the base
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET role = 'MODERATOR' WHERE id = :id"), {"id": db_id(moderator.id)}
        )
    failed = await committing_client.data(FAILED, token=moderator.access_token)
    [node] = [e["node"] for e in failed["failedDeliveries"]["edges"]]
    assert (node["kind"], node["channel"], node["status"], node["attempts"]) == (
        NotificationKind.POINTS_CHANGED,
        "WEBHOOK",
        "FAILED",
        3,
    )
    assert node["lastError"] == "HTTP 500"
    assert await committing_client.error_code(FAILED, token=member.access_token) == "FORBIDDEN"
    [hook] = (await committing_client.data(WEBHOOKS, token=member.access_token))["webhooks"]
    assert hook["disabledAt"] is not None  # three failures in a row disable it
    assert hook["consecutiveFailures"] == 3


async def test_worker_command_runs_jobs_until_sigterm(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, database_url: str
) -> None:
    """`mockinterview worker` alone (no server) sends queued deliveries and stops cleanly on SIGTERM."""
    async with webhook_receiver() as (url, receiver):
        member = await committing_client.sign_up("cli")
        await add_webhook(committing_client, member, url, receiver)
        await move_points(worker_services(app_state, engine), member, 2)
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": app_state.settings.secret_key or ""}
        env.pop("REDIS_URL", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli.commands", "worker", env=env, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert b"job worker started" in line
            rows = await settled(engine, 2)
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 30)
        assert {row.status for row in rows} == {"SENT"}
        assert len(receiver.received) == 2
        assert code == 0
