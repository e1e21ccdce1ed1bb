"""Batched reads of slots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import Slot

if TYPE_CHECKING:
    from db.session import Db


async def load_slots(db: Db, ids: Sequence[int]) -> list[Slot | None]:
    """Slots by id."""
    rows = (await db.execute(select(Slot).where(Slot.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]
