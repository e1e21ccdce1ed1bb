"""Blocking members, logging out everywhere and changing the password."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import BadUserInput, Forbidden, NotFound
from app.core.tokens import hash_token
from dataloaders import forget
from db.models import NoShowReport, RefreshToken, User
from resolvers import audit, validation
from resolvers.accounts import _throttle, revoke_all_sessions
from resolvers.unit_of_work import UnitOfWork


def control_channel(uow: UnitOfWork, user_id: int) -> str:
    """The Redis channel on which a member's live sockets are told to close."""
    return f"{uow.settings.redis_prefix}user:{user_id}:control"


async def block_user(uow: UnitOfWork, actor: User, user_id: int, reason: str, until: datetime | None) -> User:
    """Block a member (until a time, or permanently); revokes their sessions in the same transaction."""
    reason = validation.text(reason, "reason", min_length=1, max_length=500)
    now = uow.now()
    if until is not None:
        if until.tzinfo is None:
            raise BadUserInput("`until` needs a timezone.", field="until")
        if until <= now:
            raise BadUserInput("`until` must be in the future.", field="until")
    if user_id == actor.id:
        raise Forbidden("You cannot block yourself.")
    async with uow.db.transaction() as session:
        user = await _lock_block_target(session, user_id, actor, "Moderators cannot block admins.")
        user.blocked_at = now
        user.blocked_until = until
        user.block_reason = reason
        await revoke_all_sessions(session, user.id, now)
        await audit.record(
            session,
            "user.blocked",
            actor_id=actor.id,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
            reason=reason,
            until=until.isoformat() if until else None,
        )
        await session.flush()

        async def announce() -> None:
            await uow.services.hub.publish(control_channel(uow, user_id), {"kind": "BLOCKED"})

        uow.db.after_commit(announce)
    forget(uow.loaders.user, user_id)
    return user


async def _lock_block_target(session: AsyncSession, user_id: int, viewer: User, admin_refusal: str) -> User:
    """The member to block or unblock, row-locked; only admins may touch an admin's block."""
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound("No User with this ID.")
    if user.role == "ADMIN" and viewer.role != "ADMIN":
        raise Forbidden(admin_refusal)
    return user


async def unblock_user(uow: UnitOfWork, actor: User, user_id: int) -> User:
    """Lift a block."""
    async with uow.db.transaction() as session:
        user = await _lock_block_target(session, user_id, actor, "Moderators cannot change an admin's block.")
        user.blocked_at = None
        user.blocked_until = None
        user.block_reason = None
        await audit.record(
            session,
            "user.unblocked",
            actor_id=actor.id,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
        )
        await session.flush()
    forget(uow.loaders.user, user_id)
    return user


async def _active_sessions(session: AsyncSession, user_id: int, now: datetime) -> int:
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
    """Revoke every session of the actor; the number of live sessions that were revoked."""
    now = uow.now()
    async with uow.db.transaction() as session:
        count = await _active_sessions(session, actor.id, now)
        await revoke_all_sessions(session, actor.id, now)
        await audit.record(
            session,
            "auth.logout_all",
            actor_id=actor.id,
            target_type="User",
            target_id=actor.id,
            ip=uow.client_ip,
            sessions=count,
        )

        async def announce() -> None:
            await uow.services.hub.publish(control_channel(uow, actor.id), {"kind": "LOGGED_OUT"})

        uow.db.after_commit(announce)
    return count


async def change_password(
    uow: UnitOfWork,
    actor: User,
    current_password: str,
    new_password: str,
    keep_refresh_token: str | None,
) -> bool:
    """Change the actor's password; every other session (refresh-token family) is revoked."""
    settings = uow.settings
    await _throttle(uow, f"password:user:{actor.id}", settings.rate_limit_login_per_email)
    new_password = validation.password(new_password)
    if len(current_password) > 256 or not await uow.services.passwords.verify(
        actor.password_hash, current_password
    ):
        raise BadUserInput("The current password is wrong.", field="currentPassword")
    new_hash = await uow.services.passwords.hash(new_password)
    now = uow.now()
    async with uow.db.transaction() as session:
        await session.execute(update(User).where(User.id == actor.id).values(password_hash=new_hash))
        kept = None
        if keep_refresh_token:
            kept = await session.scalar(
                select(RefreshToken.family_id).where(
                    RefreshToken.token_hash == hash_token(keep_refresh_token),
                    RefreshToken.user_id == actor.id,
                )
            )
        statement = update(RefreshToken).where(
            RefreshToken.user_id == actor.id, RefreshToken.revoked_at.is_(None)
        )
        if kept is not None:
            statement = statement.where(RefreshToken.family_id != kept)
        await session.execute(statement.values(revoked_at=now))
        await audit.record(
            session,
            "auth.password_changed",
            actor_id=actor.id,
            target_type="User",
            target_id=actor.id,
            ip=uow.client_ip,
        )
    forget(uow.loaders.user, actor.id)
    return True


async def no_show_reports(
    uow: UnitOfWork, *, status: str | None, after_id: int | None, limit: int
) -> Sequence[NoShowReport]:
    """The moderators' queue: reports oldest first (a queue is worked from its head)."""
    statement = select(NoShowReport).order_by(NoShowReport.id).limit(limit)
    if status is not None:
        statement = statement.where(NoShowReport.status == status)
    if after_id is not None:
        statement = statement.where(NoShowReport.id > after_id)
    return (await uow.db.execute(statement)).scalars().all()
