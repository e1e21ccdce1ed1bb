"""Sessions: access tokens, rotating refresh-token families, logging out (one or every session)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import ControlKind
from app.core.errors import Forbidden, Unauthenticated
from app.core.tokens import hash_token, new_refresh_token
from db.models import RefreshToken, User
from resolvers import audit
from resolvers.accounts.revocation import announce_access_change, announce_sessions_revoked, revoke_api_keys
from resolvers.unit_of_work import UnitOfWork

INVALID_REFRESH = "Invalid or expired refresh token."


@dataclass
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


def blocked_error(user: User, now: datetime) -> Forbidden | None:
    """A FORBIDDEN error when `user` is currently blocked."""
    if user.blocked_at is None:
        return None
    if user.blocked_until is not None and user.blocked_until <= now:
        return None
    until = user.blocked_until.isoformat() if user.blocked_until else None
    return Forbidden("This account is blocked.", blockedUntil=until)


async def issue_tokens(
    uow: UnitOfWork, session: AsyncSession, user: User, family_id: uuid.UUID | None = None
) -> IssuedTokens:
    """Mint an access token and store a new refresh token (in the caller's transaction); the access
    token names the session (the refresh-token family, new unless given)."""
    now = uow.now()
    refresh = new_refresh_token()
    family_id = family_id or uuid.uuid4()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_token(refresh),
            expires_at=now + timedelta(seconds=uow.settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return IssuedTokens(
        access_token=uow.services.tokens.issue(user.id, now, family_id),
        refresh_token=refresh,
        expires_in=uow.settings.access_token_ttl_seconds,
        user=user,
    )


async def refresh_tokens(uow: UnitOfWork, refresh_token: str) -> IssuedTokens:
    """Rotate: the presented token is spent; presenting a spent token revokes its whole family (and
    so the access tokens of that session, on every instance at once)."""
    now = uow.now()
    token_hash = hash_token(refresh_token)
    async with uow.db.transaction() as session:
        row = (
            await session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.token_hash == token_hash,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.expires_at > now,
                )
                .values(used_at=now)
                .returning(RefreshToken.user_id, RefreshToken.family_id)
            )
        ).first()
        if row is None:
            reused = (
                await session.execute(
                    select(RefreshToken.family_id, RefreshToken.user_id).where(
                        RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_not(None)
                    )
                )
            ).first()
            if reused is not None:
                await _revoke_family(session, reused.family_id, now)
                announce_sessions_revoked(uow, reused.user_id, [reused.family_id])
                await audit.record(
                    session,
                    "auth.refresh_reuse_detected",
                    actor_id=None,
                    ip=uow.client_ip,
                    family=str(reused.family_id),
                )
            tokens = None
        else:
            user = await session.get(User, row.user_id)
            if user is None or blocked_error(user, now) is not None:
                tokens = None
            else:
                tokens = await issue_tokens(uow, session, user, family_id=row.family_id)
    if tokens is None:
        raise Unauthenticated(INVALID_REFRESH)
    return tokens


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID, now: object) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def log_out(uow: UnitOfWork, refresh_token: str) -> bool:
    """Revoke the session (refresh-token family) the token belongs to, with its access tokens."""
    now = uow.now()
    async with uow.db.transaction() as session:
        row = (
            await session.execute(
                select(RefreshToken.family_id, RefreshToken.user_id).where(
                    RefreshToken.token_hash == hash_token(refresh_token)
                )
            )
        ).first()
        if row is None:
            return False
        await _revoke_family(session, row.family_id, now)
        announce_sessions_revoked(uow, row.user_id, [row.family_id])
        await audit.record(
            session,
            "auth.logout",
            actor_id=row.user_id,
            target_type="User",
            target_id=row.user_id,
            ip=uow.client_ip,
        )
    return True


async def revoke_all_sessions(session: AsyncSession, user_id: int, now: object) -> None:
    """Revoke every refresh token of a member (logout everywhere, blocking)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def active_sessions(session: AsyncSession, user_id: int, now: datetime) -> int:
    count = await session.scalar(
        select(func.count(func.distinct(RefreshToken.family_id))).where(
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
        )
    )
    return int(count or 0)


async def log_out_all(uow: UnitOfWork, actor: User) -> int:
    """Revoke every session of the actor and their API keys; the number of live sessions that were
    revoked. Access tokens and live sockets of every session end at once, on every instance."""
    now = uow.now()
    async with uow.db.transaction() as session:
        count = await active_sessions(session, actor.id, now)
        await revoke_all_sessions(session, actor.id, now)
        api_keys = await revoke_api_keys(session, actor.id, now)
        await audit.record(
            session,
            "auth.logout_all",
            actor_id=actor.id,
            target_type="User",
            target_id=actor.id,
            ip=uow.client_ip,
            sessions=count,
            api_keys=api_keys,
        )
        announce_access_change(uow, actor.id, ControlKind.LOGGED_OUT)
    return count
