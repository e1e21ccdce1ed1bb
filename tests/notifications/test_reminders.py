"""Reminders: due interviews are claimed once, even by racing schedulers in several instances; the
job queue runs them as a periodic job."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.channels import Channels
from app.core.clock import Clock
from app.jobs.reminders import remind_due_interviews
from app.jobs.worker import JobWorker
from db.models import Interview, Notification, Slot, Specialization
from resolvers.interviews.reminders import send_due_reminders
from resolvers.unit_of_work import Services, UnitOfWork
from tests.helpers import GraphQLClient, db_id


class FixedClock(Clock):
    """A clock stopped at one instant."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at


async def remind(services: Services, minutes_before: int) -> int:
    """One round of the domain operation in its own unit of work, as the scheduler runs it."""
    uow = UnitOfWork.open(services)
    try:
        return await send_due_reminders(uow, minutes_before=minutes_before)
    finally:
        await uow.close()


async def make_interviews(
    engine: AsyncEngine, host_id: int, candidate_id: int, first_start: datetime, count: int
) -> list[int]:
    """`count` scheduled interviews one every two hours from `first_start`, committed."""
    ids = []
    async with engine.begin() as conn:
        spec = (
            await conn.execute(
                insert(Specialization)
                .values(name=f"Rem {first_start.timestamp()}")
                .returning(Specialization.id)
            )
        ).scalar_one()
        for i in range(count):
            starts = first_start + timedelta(hours=2 * i)
            ends = starts + timedelta(minutes=60)
            slot = (
                await conn.execute(
                    insert(Slot)
                    .values(
                        host_id=host_id,
                        specialization_id=spec,
                        starts_at=starts,
                        ends_at=ends,
                        duration_minutes=60,
                        video_link="https://meet.example.com/r",
                        status="BOOKED",
                    )
                    .returning(Slot.id)
                )
            ).scalar_one()
            interview = (
                await conn.execute(
                    insert(Interview)
                    .values(
                        slot_id=slot,
                        interviewer_id=host_id,
                        candidate_id=candidate_id,
                        specialization_id=spec,
                        status="SCHEDULED",
                        starts_at=starts,
                        ends_at=ends,
                    )
                    .returning(Interview.id)
                )
            ).scalar_one()
            ids.append(interview)
    return ids


async def test_racing_schedulers_remind_each_participant_exactly_once(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, clock: Clock
) -> None:
    host, candidate = await committing_client.sign_up("host"), await committing_client.sign_up("cand")
    host_id, candidate_id = db_id(host.id), db_id(candidate.id)
    start = (clock.now() + timedelta(days=3)).replace(microsecond=0)
    due = await make_interviews(engine, host_id, candidate_id, start, 12)
    # Four "instances": separate session factories (own connections) and the same hub.
    now = start + timedelta(hours=2 * 11) - timedelta(minutes=10)  # all 12 are due (or running)
    instances = [
        dataclasses.replace(
            app_state, sessionmaker=async_sessionmaker(engine, expire_on_commit=False), clock=FixedClock(now)
        )
        for _ in range(4)
    ]
    prefix = app_state.settings.redis_prefix
    async with app_state.hub.subscribe(Channels(prefix).notifications(host_id)) as feed:
        claimed = await asyncio.gather(*[remind(instance, 15) for instance in instances])
        received = [await asyncio.wait_for(anext(feed), 5) for _ in range(sum(claimed))]
    # Interviews that already ended are not reminded any more; the rest exactly once.
    expected = [i for n, i in enumerate(due) if start + timedelta(hours=2 * n, minutes=60) > now]
    assert sum(claimed) == len(expected)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Notification.user_id, func.count())
                .where(Notification.kind == "REMINDER")
                .group_by(Notification.user_id)
            )
        ).all()
    assert dict(rows) == {host_id: len(expected), candidate_id: len(expected)}
    assert {m["kind"] for m in received} == {"REMINDER"}
    assert sorted(m["payload"]["interview_id"] for m in received) == sorted(expected)  # database ids
    # A later round finds nothing left to do.
    assert await remind(instances[0], 15) == 0


async def reminded_ids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(Interview.id).where(Interview.reminder_sent_at.is_not(None)))
        return list(rows.scalars().all())


async def test_periodic_job_skips_interviews_not_yet_due_or_cancelled(
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    app_state: Services,
    clock: Clock,
    database_url: str,
) -> None:
    members = [db_id((await committing_client.sign_up(n)).id) for n in ("h1", "c1", "h2", "c2")]
    start = (clock.now() + timedelta(days=5)).replace(microsecond=0)
    [cancelled] = await make_interviews(engine, members[0], members[1], start, 1)
    due, later = await make_interviews(engine, members[2], members[3], start + timedelta(minutes=5), 2)
    async with engine.begin() as conn:
        await conn.execute(update(Interview).where(Interview.id == cancelled).values(status="CANCELLED"))
    shifted = Clock()
    shifted.offset = start - timedelta(minutes=9) - Clock().now()
    instance = dataclasses.replace(
        app_state,
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
        clock=shifted,
        # Every second, so that the test sees a run of the job queue's scheduler soon.
        settings=app_state.settings.model_copy(update={"reminder_schedule": "* * * * * *"}),
    )
    worker = JobWorker(instance, database_url, reminders=True)
    await worker.start()
    try:
        for _ in range(100):
            if await reminded_ids(engine):
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    assert await reminded_ids(engine) == [due]  # not the cancelled one, nor the one starting in two hours
    assert later not in await reminded_ids(engine)
    assert await remind_due_interviews(instance) == 0  # a later round finds nothing left
