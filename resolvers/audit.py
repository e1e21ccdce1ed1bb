"""Writing to the audit log, always inside the transaction of the change it records."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry
from resolvers.unit_of_work import UnitOfWork


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor_id: int | None,
    target_type: str | None = None,
    target_id: int | None = None,
    ip: str | None = None,
    **details: Any,
) -> None:
    """Add one audit row; flushed with the surrounding transaction."""
    session.add(
        AuditEntry(
            action=action,
            actor_id=actor_id,
            target_type=target_type,
            target_id=target_id,
            details=details,
            ip=_inet(ip),
        )
    )


def _inet(ip: str | None) -> str | None:
    """The address if it is one; the INET column refuses anything else (e.g. a test client's name)."""
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


async def audit_entries(
    uow: UnitOfWork,
    *,
    after_id: int | None,
    limit: int,
    action: str | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEntry]:
    """Newest first; `since` inclusive, `until` exclusive."""
    statement = audit_statement(
        after_id=after_id, limit=limit, action=action or None, actor_id=actor_id, since=since, until=until
    )
    return (await uow.db.execute(statement)).scalars().all()


def audit_statement(
    *, after_id: Any, limit: Any, action: Any, actor_id: Any, since: Any, until: Any
) -> Select[Any]:
    """The audit log, newest first; `since` inclusive, `until` exclusive."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if after_id is not None:
        statement = statement.where(AuditEntry.id < after_id)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if actor_id is not None:
        statement = statement.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        statement = statement.where(AuditEntry.created_at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.created_at < until)
    return statement
