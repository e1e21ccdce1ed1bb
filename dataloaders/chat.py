"""Batch loader for pages of interview chats: one statement per batch, whatever the page count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Select, bindparam, func, select

from db.models import Message

if TYPE_CHECKING:
    from db.session import Db


@dataclass(frozen=True)
class MessagePageKey:
    """Up to `limit` messages of one interview with id > `after_id`: the oldest, or the newest ones."""

    interview_id: int
    limit: int
    after_id: int | None = None
    newest: bool = False


@cache
def _page_statement(newest: bool, with_after: bool) -> Select[Any]:
    """The page statement with bound parameters, built once (building it costs more than running it
    through SQLAlchemy's compiled cache): `interview_ids` (expanding), `limit`, `after_id`."""
    order = Message.id.desc() if newest else Message.id.asc()
    ranked = select(
        Message.id,
        Message.interview_id,
        Message.author_id,
        Message.body,
        Message.created_at,
        func.row_number().over(partition_by=Message.interview_id, order_by=order).label("rn"),
    ).where(Message.interview_id.in_(bindparam("interview_ids", expanding=True)))
    if with_after:
        ranked = ranked.where(Message.id > bindparam("after_id", type_=Message.id.type))
    sub = ranked.subquery()
    return (
        select(sub.c.id, sub.c.interview_id, sub.c.author_id, sub.c.body, sub.c.created_at)
        .where(sub.c.rn <= bindparam("limit", type_=BigInteger()))
        .order_by(sub.c.interview_id, sub.c.id)
    )


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
        params: dict[str, Any] = {"interview_ids": sorted(interview_ids), "limit": limit}
        if after_id is not None:
            params["after_id"] = after_id
        statement = _page_statement(newest, after_id is not None)
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in (await db.execute(statement, params)).all():
            grouped[row.interview_id].append(row)
        for interview_id in interview_ids:
            pages[MessagePageKey(interview_id, limit, after_id, newest)] = grouped.get(interview_id, [])
    return [pages[key] for key in keys]
