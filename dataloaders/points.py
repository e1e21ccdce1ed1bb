"""Batched reads of points ledger entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import PointsEntry

if TYPE_CHECKING:
    from db.session import Db


async def load_points_entries(db: Db, ids: Sequence[int]) -> list[PointsEntry | None]:
    """Ledger entries by id (no permission check: callers decide what the viewer may see)."""
    rows = (await db.execute(select(PointsEntry).where(PointsEntry.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]
