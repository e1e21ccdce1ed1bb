"""Interview reminders as a periodic job of the job queue (`REMINDER_SCHEDULE`).

The queue's scheduler starts one run per tick across all workers; the domain operation
`resolvers.interviews.reminders.send_due_reminders` claims due interviews atomically besides, so even
overlapping runs remind each participant exactly once.
"""

from __future__ import annotations

from resolvers.interviews.reminders import send_due_reminders
from resolvers.unit_of_work import Services, UnitOfWork


async def remind_due_interviews(services: Services) -> int:
    """One round: the number of interviews reminded (as many rounds as it takes to drain them)."""
    total = 0
    while True:
        uow = UnitOfWork.open(services)
        try:
            claimed = await send_due_reminders(uow, minutes_before=services.settings.reminder_minutes_before)
        finally:
            await uow.close()
        total += claimed
        if claimed == 0:
            return total
