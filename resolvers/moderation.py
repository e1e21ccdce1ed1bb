"""Blocking members, logging out everywhere and changing the password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import ControlKind, InterviewStatus, NoShowStatus, Role
from app.core.errors import BadUserInput, Forbidden, NotFound
from dataloaders import forget
from db.models import Interview, NoShowReport, User
from resolvers import audit, validation
from resolvers.accounts.sessions import revoke_all_sessions
from resolvers.unit_of_work import UnitOfWork


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

        uow.publish_after_commit(uow.channels.control(user_id), {"kind": ControlKind.BLOCKED.value})
    forget(uow.loaders.user, user_id)
    return user


async def _lock_block_target(session: AsyncSession, user_id: int, viewer: User, admin_refusal: str) -> User:
    """The member to block or unblock, row-locked; only admins may touch an admin's block."""
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound("No User with this ID.")
    if user.role == Role.ADMIN and viewer.role != Role.ADMIN:
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


async def no_show_reports(
    uow: UnitOfWork, *, status: NoShowStatus | None, after_id: int | None, limit: int
) -> Sequence[NoShowReport]:
    """The moderators' queue: reports oldest first (a queue is worked from its head)."""
    statement = select(NoShowReport).order_by(NoShowReport.id).limit(limit)
    if status is not None:
        statement = statement.where(NoShowReport.status == status)
    if after_id is not None:
        statement = statement.where(NoShowReport.id > after_id)
    return (await uow.db.execute(statement)).scalars().all()


async def set_role(uow: UnitOfWork, actor: User | None, user_id: int, role: Role) -> User:
    """Give a member a role. `actor` None is the command line (the operator of the server, e.g. naming
    the first admin); a member must be an admin."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden("Your role does not allow this.")
    via = {"via": "cli"} if actor is None else {}
    async with uow.db.transaction() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No User with this ID.")
        previous = user.role
        user.role = role
        await audit.record(
            session,
            "user.role_changed",
            actor_id=actor.id if actor is not None else None,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
            previous=previous,
            role=role,
            **via,
        )
    forget(uow.loaders.user, user_id)
    return user


async def member_id_by_email(uow: UnitOfWork, email: str) -> int | None:
    """The id of the member with this email (compared as stored: trimmed, lower case), if any."""
    statement = select(User.id).where(User.email == email.strip().lower())
    member_id: int | None = (await uow.db.execute(statement)).scalar()
    return member_id


@dataclass
class PlatformStats:
    members: int
    blocked_members: int
    interviews_by_status: dict[str, int]
    points_in_circulation: int
    no_show_rate: float


async def platform_stats(uow: UnitOfWork) -> PlatformStats:
    """Members, interviews per status, the sum of all balances and the no-show rate.

    The no-show rate is NO_SHOW / (COMPLETED + NO_SHOW): the share of interviews that were due to
    happen and did not; 0.0 before any interview has finished.
    """
    now = uow.now()
    blocked_now = User.blocked_at.is_not(None) & (User.blocked_until.is_(None) | (User.blocked_until > now))
    members_row: Any = (
        await uow.db.execute(
            select(
                func.count(),
                func.count().filter(blocked_now),
                func.coalesce(func.sum(User.points_balance), 0),
            ).select_from(User)
        )
    ).one()
    statement = select(Interview.status, func.count()).group_by(Interview.status)
    rows: list[Any] = list((await uow.db.execute(statement)).all())
    by_status = dict.fromkeys((s.value for s in InterviewStatus), 0)
    for status, count in rows:
        by_status[str(status)] = int(count)
    finished = by_status[InterviewStatus.COMPLETED] + by_status[InterviewStatus.NO_SHOW]
    return PlatformStats(
        members=int(members_row[0]),
        blocked_members=int(members_row[1]),
        interviews_by_status=by_status,
        points_in_circulation=int(members_row[2]),
        no_show_rate=by_status[InterviewStatus.NO_SHOW] / finished if finished else 0.0,
    )
