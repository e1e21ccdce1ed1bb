"""Blocking members and their block history, roles, staff messages, no-show queue and platform figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import STAFF_ROLES, ControlKind, InterviewStatus, NoShowStatus, NotificationKind, Role
from app.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from dataloaders import forget
from db.models import Block, Interview, NoShowReport, Notification, User
from resolvers import audit, notifications, validation
from resolvers.accounts.revocation import announce_access_change
from resolvers.accounts.sessions import blocked_error, revoke_all_sessions
from resolvers.interviews import lifecycle
from resolvers.unit_of_work import UnitOfWork


async def block_user(uow: UnitOfWork, actor: User, user_id: int, reason: str, until: datetime | None) -> User:
    """Block a member (until a time, or permanently). In the same transaction: revokes their sessions,
    cancels their SCHEDULED interviews in either role (refunding each candidate) and withdraws their
    open slots (docs/product.md, rule 18). The last active admin cannot be blocked ("Roles")."""
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
        # Interviews and slots, then member rows: the lock order of cancelling and booking.
        schedule = await lifecycle.lock_member_schedule(session, user_id, now)
        admins = await _lock_admins(session)
        user = await _lock_block_target(session, user_id, actor, "Moderators cannot block admins.")
        _keep_an_active_admin(admins, user, now, "The last active admin cannot be blocked.")
        user.blocked_at = now
        user.blocked_until = until
        user.block_reason = reason
        await revoke_all_sessions(session, user.id, now)
        await _record_block(session, user.id, actor.id, reason, until, now)
        cancelled, withdrawn = await lifecycle.cancel_member_schedule(uow, session, schedule, now)
        await audit.record(
            session,
            "user.blocked",
            actor_id=actor.id,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
            reason=reason,
            until=until.isoformat() if until else None,
            cancelled_interviews=cancelled,
            withdrawn_slots=withdrawn,
        )
        await session.flush()

        announce_access_change(uow, user_id, ControlKind.BLOCKED)
    forget(uow.loaders.user, user_id)
    return user


async def _close_open_block(session: AsyncSession, user_id: int, actor_id: int, now: datetime) -> None:
    """End the member's open block record: lifted by `actor_id` now if it was still in force, or
    ended by itself at its `until` if that had passed (then nobody lifted it)."""
    in_force = or_(Block.until.is_(None), Block.until > now)
    await session.execute(
        update(Block)
        .where(Block.user_id == user_id, Block.unblocked_at.is_(None))
        .values(
            unblocked_at=case((in_force, now), else_=Block.until),
            unblocked_by_id=case((in_force, actor_id), else_=None),
        )
    )


async def _record_block(
    session: AsyncSession, user_id: int, actor_id: int, reason: str, until: datetime | None, now: datetime
) -> None:
    """Add the block to the member's history (a block of a blocked member replaces the open one)."""
    await _close_open_block(session, user_id, actor_id, now)
    session.add(Block(user_id=user_id, blocked_by_id=actor_id, reason=reason, until=until, created_at=now))


async def _lock_block_target(session: AsyncSession, user_id: int, viewer: User, admin_refusal: str) -> User:
    """The member to block or unblock, row-locked; only admins may touch an admin's block."""
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound("No User with this ID.")
    if user.role == Role.ADMIN and viewer.role != Role.ADMIN:
        raise Forbidden(admin_refusal)
    return user


async def _lock_admins(session: AsyncSession) -> list[User]:
    """Every ADMIN row, locked in id order, before the row to change (docs/product.md, "Roles").

    Demoting and blocking take these locks first and in one order, so two admins demoting or
    blocking each other at once run one after the other: the second sees the first's change and
    is refused instead of leaving no admin. FOR NO KEY UPDATE: rows referencing an admin can still
    be inserted meanwhile.
    """
    statement = (
        select(User)
        .where(User.role == Role.ADMIN)
        .order_by(User.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(statement)).all())


def _keep_an_active_admin(admins: Sequence[User], target: User, now: datetime, refusal: str) -> None:
    """CONFLICT when `target` is the last active (not blocked) admin; `admins` from `_lock_admins`."""
    if target.role != Role.ADMIN or blocked_error(target, now) is not None:
        return
    if not any(admin.id != target.id and blocked_error(admin, now) is None for admin in admins):
        raise Conflict(refusal)


async def unblock_user(uow: UnitOfWork, actor: User, user_id: int) -> User:
    """Lift a block."""
    async with uow.db.transaction() as session:
        user = await _lock_block_target(session, user_id, actor, "Moderators cannot change an admin's block.")
        user.blocked_at = None
        user.blocked_until = None
        user.block_reason = None
        await _close_open_block(session, user.id, actor.id, uow.now())
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


def blocks_statement(*, user_id: Any, active_only: bool, now: Any, after_id: Any, limit: Any) -> Select[Any]:
    """Block records, newest first (keyset on id): one member's history, and/or those in force at
    `now`."""
    statement = select(Block).order_by(Block.id.desc()).limit(limit)
    if user_id is not None:
        statement = statement.where(Block.user_id == user_id)
    if active_only:
        statement = statement.where(
            Block.unblocked_at.is_(None), or_(Block.until.is_(None), Block.until > now)
        )
    if after_id is not None:
        statement = statement.where(Block.id < after_id)
    return statement


async def blocks(
    uow: UnitOfWork, *, user_id: int | None, active_only: bool, after_id: int | None, limit: int
) -> Sequence[Block]:
    """Block records, newest first (keyset on id): one member's history, and/or those in force now."""
    statement = blocks_statement(
        user_id=user_id, active_only=active_only, now=uow.now(), after_id=after_id, limit=limit
    )
    rows = (await uow.db.execute(statement)).scalars().all()
    for row in rows:
        uow.loaders.block.prime(row.id, row)
    return rows


async def visible_blocks(uow: UnitOfWork, viewer: User | None, ids: Sequence[int]) -> list[Block | None]:
    """Block records by id, for staff only (None for everyone else)."""
    if viewer is None or viewer.role not in STAFF_ROLES:
        return [None for _ in ids]
    return await uow.loaders.block.load_many(ids)


async def send_admin_message(uow: UnitOfWork, actor: User, user_id: int, body: str) -> Notification:
    """A moderator's or admin's message to a member: stored and delivered as an ADMIN_MESSAGE
    notification (live, and on the member's other channels), and written to the audit log."""
    if actor.role not in STAFF_ROLES:
        raise Forbidden("Your role does not allow this.")
    text = validation.text(body, "body", min_length=1, max_length=2000)
    async with uow.db.transaction() as session:
        if await session.get(User, user_id) is None:
            raise NotFound("No User with this ID.")
        payload = {"body": text, "sender_role": actor.role}
        row = await notifications.notify(session, user_id, NotificationKind.ADMIN_MESSAGE, payload, uow)
        await audit.record(
            session,
            "user.messaged",
            actor_id=actor.id,
            target_type="User",
            target_id=user_id,
            ip=uow.client_ip,
            notification_id=row.id,
        )
    return row


async def no_show_reports(
    uow: UnitOfWork, *, status: NoShowStatus | None, after_id: int | None, limit: int
) -> Sequence[NoShowReport]:
    """The moderators' queue: reports oldest first (a queue is worked from its head)."""
    statement = no_show_queue_statement(
        status=status.value if status else None, after_id=after_id, limit=limit
    )
    return (await uow.db.execute(statement)).scalars().all()


def no_show_queue_statement(*, status: Any, after_id: Any, limit: Any) -> Select[Any]:
    """No-show reports oldest first, with the status given, after the report `after_id`."""
    statement = select(NoShowReport).order_by(NoShowReport.id).limit(limit)
    if status is not None:
        statement = statement.where(NoShowReport.status == status)
    if after_id is not None:
        statement = statement.where(NoShowReport.id > after_id)
    return statement


async def set_role(uow: UnitOfWork, actor: User | None, user_id: int, role: Role) -> User:
    """Give a member a role. `actor` None is the command line (the operator of the server, e.g. naming
    the first admin); a member must be an admin. The last active admin keeps the role
    (docs/product.md, "Roles"), whoever asks."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden("Your role does not allow this.")
    via = {"via": "cli"} if actor is None else {}
    async with uow.db.transaction() as session:
        admins = await _lock_admins(session)
        user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
        if user is None:
            raise NotFound("No User with this ID.")
        if role != Role.ADMIN:
            _keep_an_active_admin(admins, user, uow.now(), "The last active admin cannot be demoted.")
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
        if previous != role:  # live feeds re-check access with the new role (docs/trust.md, "Revocation")
            announce_access_change(uow, user.id, ControlKind.ROLE_CHANGED, role=role.value)
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
