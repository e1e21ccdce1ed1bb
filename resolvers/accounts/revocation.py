"""Ending access at once (docs/trust.md, "Revocation"): revoking a member's API keys, and telling this
instance and every other one that a member's sessions, block or role changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import ControlKind
from db.models import ApiKey
from resolvers.unit_of_work import UnitOfWork


async def revoke_api_keys(session: AsyncSession, user_id: int, now: datetime) -> int:
    """Revoke every active API key of a member (in the caller's transaction); how many there were."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiKey.id)
    )
    return len(result.all())


def announce_access_change(uow: UnitOfWork, user_id: int, kind: ControlKind, **details: Any) -> None:
    """Once the current transaction commits: forget this instance's cached sessions of the member (so
    the mutation's reply is already the truth here), then publish `{"kind": kind, **details}` on the
    member's control channel (their live sockets and subscriptions) and the same with `userId` on the
    access channel (every other instance's session cache). Call it inside the transaction."""
    message = {"kind": kind.value, **details}
    cache = uow.services.session_cache

    async def forget_here() -> None:
        cache.forget_member(user_id)

    uow.db.after_commit(forget_here)
    uow.publish_after_commit(uow.channels.control(user_id), message)
    uow.publish_after_commit(uow.channels.access(), {**message, "userId": user_id})


def announce_sessions_revoked(
    uow: UnitOfWork, user_id: int, families: Iterable[uuid.UUID], *, api_keys: bool = False
) -> None:
    """`announce_access_change` for revoked sessions (refresh-token families), and API keys if any."""
    sessions = sorted({str(family) for family in families})
    if sessions or api_keys:
        announce_access_change(
            uow, user_id, ControlKind.SESSIONS_REVOKED, sessions=sessions, apiKeys=api_keys
        )
