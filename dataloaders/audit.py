"""Batched reads of audit log entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import AuditEntry

if TYPE_CHECKING:
    from db.session import Db


async def load_audit_entries(db: Db, ids: Sequence[int]) -> list[AuditEntry | None]:
    """Audit entries by id (no permission check: callers decide who may read the log)."""
    rows = (await db.execute(select(AuditEntry).where(AuditEntry.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]
