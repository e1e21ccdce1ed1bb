"""Batched reads of uploaded files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import Upload

if TYPE_CHECKING:
    from db.session import Db


async def load_uploads(db: Db, ids: Sequence[int]) -> list[Upload | None]:
    """Uploads by id (no permission check: callers decide what the viewer may read)."""
    rows = (await db.execute(select(Upload).where(Upload.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]
