"""Interview reminders: a poller that runs in every instance and still notifies exactly once.

Each round claims the due interviews with one conditional UPDATE (`reminder_sent_at IS NULL`, rows
picked FOR UPDATE SKIP LOCKED) and inserts the participants' notifications in the same transaction,
so an interview is claimed by exactly one instance and its reminders commit with the claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.events import EventHub
from db.models import Interview, Notification
from resolvers.notifications import add_notification, interview_payload, publish_notifications

logger = logging.getLogger("mockinterview.reminders")

BATCH_SIZE = 200
CLAIM_DUE = text(
    """
    WITH due AS (
        SELECT id FROM interviews
        WHERE status = 'SCHEDULED' AND reminder_sent_at IS NULL
          AND starts_at <= :horizon AND ends_at > :now
        ORDER BY starts_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE interviews AS i SET reminder_sent_at = :now
    FROM due
    WHERE i.id = due.id AND i.reminder_sent_at IS NULL
    RETURNING i.id, i.interviewer_id, i.candidate_id, i.starts_at
    """
)


async def send_due_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: EventHub,
    *,
    prefix: str,
    now: datetime,
    minutes_before: int,
) -> int:
    """Claim interviews starting within `minutes_before` and notify both participants.

    Returns the number of interviews claimed. Safe to run concurrently in many instances.
    """
    created: list[Notification] = []
    horizon = now + timedelta(minutes=minutes_before)
    async with sessionmaker() as session, session.begin():
        rows = (await session.execute(CLAIM_DUE, {"now": now, "horizon": horizon, "batch": BATCH_SIZE})).all()
        for interview_id, interviewer_id, candidate_id, starts_at in rows:
            payload = interview_payload(
                Interview(id=interview_id, starts_at=starts_at), minutesBefore=minutes_before
            )
            for user_id in (interviewer_id, candidate_id):
                created.append(await add_notification(session, user_id, "REMINDER", payload, now))
    if created:
        await publish_notifications(hub, prefix, created)
    return len(rows)


class ReminderScheduler:
    """Background task of the lifespan: `send_due_reminders` every `interval` seconds."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        hub: EventHub,
        clock: Clock,
        *,
        prefix: str,
        minutes_before: int,
        interval: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._hub = hub
        self._clock = clock
        self._prefix = prefix
        self._minutes_before = minutes_before
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start polling (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reminder-scheduler")

    async def stop(self) -> None:
        """Stop polling and wait for the current round to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        """One polling round; the number of interviews reminded."""
        return await send_due_reminders(
            self._sessionmaker,
            self._hub,
            prefix=self._prefix,
            now=self._clock.now(),
            minutes_before=self._minutes_before,
        )

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not end the scheduler; retry next round
                logger.warning("reminder round failed", exc_info=True)
            await asyncio.sleep(self._interval)
