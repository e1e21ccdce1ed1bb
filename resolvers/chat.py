"""Interview chat: participants send, participants and staff read; history is keyset-paginated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from app.core.errors import RateLimited
from db.models import Message, User
from resolvers import validation
from resolvers.interviews.access import can_view_interview
from resolvers.interviews.lifecycle import lock_interview
from resolvers.unit_of_work import UnitOfWork

MAX_BODY = 2000


def event_of(row: Message, previous: int | None) -> dict[str, Any]:
    """The published form of a message: complete, so subscribers need no database read.

    `previous` is the id of the interview's message before it (None for the first): a live feed
    that has not delivered that one yet knows one is still on its way (`schema/replay.py`).
    """
    return {
        "id": row.id,
        "previous": previous,
        "interview_id": row.interview_id,
        "author_id": row.author_id,
        "body": row.body,
        "created_at": row.created_at.isoformat(),
    }


async def send_message(uow: UnitOfWork, actor: User, interview_id: int, body: str) -> Message:
    """Store a chat message by a participant (1-2000 characters, rate-limited per member).

    Staff may read any chat but only participants write. The message is published on the
    interview's chat channel after the transaction commits.
    """
    text = validation.text(body, "body", min_length=1, max_length=MAX_BODY)
    settings = uow.settings
    retry_after = await uow.services.rate_limiter.hit(
        f"messages:user:{actor.id}",
        settings.rate_limit_messages_per_user,
        settings.rate_limit_window_seconds,
    )
    if retry_after is not None:
        raise RateLimited(retry_after)
    async with uow.db.transaction() as session:
        # Locks the interview row, so messages of one interview get ids in commit order.
        interview = await lock_interview(session, actor, interview_id)
        latest = select(func.max(Message.id)).where(Message.interview_id == interview.id)
        previous = await session.scalar(latest)
        row = Message(interview_id=interview.id, author_id=actor.id, body=text, created_at=uow.now())
        session.add(row)
        await session.flush()
        uow.publish_after_commit(uow.channels.chat(interview.id), event_of(row, previous))
    return row


def message_page_statement(interview_id: Any, *, after_id: Any, limit: Any, newest: bool) -> Select[Any]:
    """One page of a chat: the oldest `limit` messages after `after_id`, or the newest ones."""
    statement = (
        select(Message)
        .where(Message.interview_id == interview_id)
        .order_by(Message.id.desc() if newest else Message.id)
        .limit(limit)
    )
    if after_id is not None:
        statement = statement.where(Message.id > after_id)
    return statement


async def visible_messages(uow: UnitOfWork, actor: User | None, ids: Sequence[int]) -> list[Message | None]:
    """Messages by id, None for those in interviews the actor may not read."""
    if not ids:
        return []
    rows = {
        row.id: row for row in (await uow.db.execute(select(Message).where(Message.id.in_(ids)))).scalars()
    }
    interviews = await uow.loaders.interview.load_many(
        [rows[i].interview_id if i in rows else 0 for i in ids]
    )
    return [
        rows[i] if i in rows and interview is not None and can_view_interview(actor, interview) else None
        for i, interview in zip(ids, interviews, strict=True)
    ]
