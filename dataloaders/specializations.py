"""Batched reads of specializations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import Specialization

if TYPE_CHECKING:
    from db.session import Db


async def load_specializations(db: Db, ids: Sequence[int]) -> list[Specialization | None]:
    rows = (await db.execute(select(Specialization).where(Specialization.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]
