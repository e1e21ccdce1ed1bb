"""Writing to the audit log, always inside the transaction of the change it records."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry


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
