"""Batched reads of no-show reports and block records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import Block, NoShowReport

if TYPE_CHECKING:
    from db.session import Db


async def load_no_show_reports(db: Db, ids: Sequence[int]) -> list[NoShowReport | None]:
    """No-show reports by id (no permission check: callers decide what the viewer may see)."""
    rows = (await db.execute(select(NoShowReport).where(NoShowReport.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]


async def load_blocks(db: Db, ids: Sequence[int]) -> list[Block | None]:
    """Block records by id (no permission check: callers decide what the viewer may see)."""
    rows = (await db.execute(select(Block).where(Block.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]
