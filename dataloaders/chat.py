"""Batch loader for pages of interview chats: one statement per batch, whatever the page count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from db.models import Message

if TYPE_CHECKING:
    from app.context import Db


@dataclass(frozen=True)
class MessagePageKey:
    """Up to `limit` messages of one interview with id > `after_id`: the oldest, or the newest ones."""

    interview_id: int
    limit: int
    after_id: int | None = None
    newest: bool = False


async def load_message_pages(db: Db, keys: Sequence[MessagePageKey]) -> list[list[Any]]:
    """Rows (id, interview_id, author_id, body, created_at) per key, oldest first.

    Keys sharing (limit, after_id, newest) -- every interview of one page -- take one statement:
    ROW_NUMBER() OVER (PARTITION BY interview_id ORDER BY id) keeps `limit` rows per interview.
    """
    groups: dict[tuple[int, int | None, bool], set[int]] = defaultdict(set)
    for key in keys:
        groups[(key.limit, key.after_id, key.newest)].add(key.interview_id)
    pages: dict[MessagePageKey, list[Any]] = {}
    for (limit, after_id, newest), interview_ids in groups.items():
        order = Message.id.desc() if newest else Message.id.asc()
        ranked = select(
            Message.id,
            Message.interview_id,
            Message.author_id,
            Message.body,
            Message.created_at,
            func.row_number().over(partition_by=Message.interview_id, order_by=order).label("rn"),
        ).where(Message.interview_id.in_(sorted(interview_ids)))
        if after_id is not None:
            ranked = ranked.where(Message.id > after_id)
        sub = ranked.subquery()
        statement = (
            select(sub.c.id, sub.c.interview_id, sub.c.author_id, sub.c.body, sub.c.created_at)
            .where(sub.c.rn <= limit)
            .order_by(sub.c.interview_id, sub.c.id)
        )
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in (await db.execute(statement)).all():
            grouped[row.interview_id].append(row)
        for interview_id in interview_ids:
            pages[MessagePageKey(interview_id, limit, after_id, newest)] = grouped.get(interview_id, [])
    return [pages[key] for key in keys]
