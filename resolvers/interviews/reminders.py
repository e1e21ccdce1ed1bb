"""Interview reminders: claim the interviews about to start and notify both participants, exactly once.

One conditional UPDATE claims the due interviews (`reminder_sent_at IS NULL`, rows picked FOR UPDATE
SKIP LOCKED) and the participants' notifications are inserted in the same transaction, so however many
instances run this at once, an interview is claimed by exactly one of them and its reminders commit
with the claim. Scheduling (every few seconds, in every instance) is the wiring's job
(app/jobs/reminders.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from app.core.enums import NotificationKind
from db.models import Interview
from resolvers.notifications import interview_payload, notify
from resolvers.unit_of_work import UnitOfWork

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


async def send_due_reminders(uow: UnitOfWork, *, minutes_before: int) -> int:
    """Claim the interviews starting within `minutes_before` (and not over) and notify both participants;
    the notifications are published once the claim commits.

    Returns the number of interviews claimed (at most `BATCH_SIZE` a call). Safe to run concurrently in
    many instances.
    """
    now = uow.now()
    horizon = now + timedelta(minutes=minutes_before)
    async with uow.db.transaction() as session:
        claimed = await session.execute(CLAIM_DUE, {"now": now, "horizon": horizon, "batch": BATCH_SIZE})
        rows = claimed.all()
        for interview_id, interviewer_id, candidate_id, starts_at in rows:
            payload = interview_payload(
                Interview(id=interview_id, starts_at=starts_at), minutes_before=minutes_before
            )
            for user_id in (interviewer_id, candidate_id):
                await notify(session, user_id, NotificationKind.REMINDER, payload, uow)
    return len(rows)
