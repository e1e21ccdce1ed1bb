"""Interview reminders: a poller that runs in every instance and still notifies exactly once.

Every `interval` seconds it runs the domain operation `resolvers.interviews.reminders.send_due_reminders`,
which claims the due interviews and notifies their participants in one transaction (so racing instances
never remind twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from resolvers.interviews.reminders import send_due_reminders
from resolvers.unit_of_work import Services, UnitOfWork

logger = logging.getLogger("mockinterview.reminders")


class ReminderScheduler:
    """Background task of the lifespan: `send_due_reminders` every `interval` seconds."""

    def __init__(self, services: Services, *, minutes_before: int, interval: float) -> None:
        self._services = services
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
        uow = UnitOfWork.open(self._services)
        try:
            return await send_due_reminders(uow, minutes_before=self._minutes_before)
        finally:
            await uow.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not end the scheduler; retry next round
                logger.warning("reminder round failed", exc_info=True)
            await asyncio.sleep(self._interval)
