"""Sign up, log in, token refresh/rotation, log out and profile updates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import BadUserInput, Conflict, Forbidden, RateLimited, Unauthenticated
from app.core.tokens import hash_token, new_refresh_token
from dataloaders import forget
from db.models import RefreshToken, Specialization, User, UserSpecialization
from resolvers import audit, validation
from resolvers.points import change_balance
from resolvers.unit_of_work import UnitOfWork

INVALID_CREDENTIALS = "Invalid email or password."
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


async def _throttle(uow: UnitOfWork, key: str, limit: int) -> None:
    retry_after = await uow.services.rate_limiter.hit(key, limit, uow.settings.rate_limit_window_seconds)
    if retry_after is not None:
        raise RateLimited(retry_after)


async def _issue(
    uow: UnitOfWork, session: AsyncSession, user: User, family_id: uuid.UUID | None = None
) -> IssuedTokens:
    """Mint an access token and store a new refresh token (in the caller's transaction)."""
    now = uow.now()
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_token(refresh),
            expires_at=now + timedelta(seconds=uow.settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return IssuedTokens(
        access_token=uow.services.tokens.issue(user.id, now),
        refresh_token=refresh,
        expires_in=uow.settings.access_token_ttl_seconds,
        user=user,
    )


async def sign_up(uow: UnitOfWork, email: str, password: str, display_name: str) -> IssuedTokens:
    email = validation.email(email)
    password = validation.password(password)
    display_name = validation.text(display_name, "displayName", min_length=1, max_length=80)
    settings = uow.settings
    await _throttle(uow, f"signup:ip:{uow.client_ip}", settings.rate_limit_signup_per_ip)
    await _throttle(uow, f"signup:email:{email}", settings.rate_limit_signup_per_email)
    password_hash = await uow.services.passwords.hash(password)
    async with uow.db.transaction() as session:
        user = User(email=email, password_hash=password_hash, display_name=display_name)
        session.add(user)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict("An account with this email already exists.", field="email") from exc
        if settings.signup_grant_points > 0:
            await change_balance(
                session, user.id, settings.signup_grant_points, "GRANT", reason="Signup grant"
            )
        await audit.record(
            session,
            "auth.sign_up",
            actor_id=user.id,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
        )
        tokens = await _issue(uow, session, user)
        await session.refresh(user)
    return tokens


async def log_in(uow: UnitOfWork, email: str, password: str) -> IssuedTokens:
    settings = uow.settings
    normalized = email.strip().lower()[:254]
    await _throttle(uow, f"login:ip:{uow.client_ip}", settings.rate_limit_login_per_ip)
    await _throttle(uow, f"login:email:{normalized}", settings.rate_limit_login_per_email)
    if len(password) > 256:
        raise Unauthenticated(INVALID_CREDENTIALS)
    async with uow.db.transaction() as session:
        # PostgreSQL text cannot hold NUL; such an address names nobody (and still costs a verify).
        user = (
            None
            if "\x00" in normalized
            else await session.scalar(select(User).where(User.email == normalized))
        )
        ok = await uow.services.passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok:
            await audit.record(
                session,
                "auth.login_failed",
                actor_id=None,
                ip=uow.client_ip,
                known_account=user is not None,
            )
            failed = True
        else:
            failed = False
            blocked = blocked_error(user, uow.now())
            if blocked is not None:
                raise blocked
            assert user.password_hash is not None
            if uow.services.passwords.needs_rehash(user.password_hash):
                user.password_hash = await uow.services.passwords.hash(password)
            await audit.record(
                session,
                "auth.login",
                actor_id=user.id,
                target_type="User",
                target_id=user.id,
                ip=uow.client_ip,
            )
            tokens = await _issue(uow, session, user)
    if failed:
        raise Unauthenticated(INVALID_CREDENTIALS)
    return tokens


async def refresh_tokens(uow: UnitOfWork, refresh_token: str) -> IssuedTokens:
    """Rotate: the presented token is spent; presenting a spent token revokes its whole family."""
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
        reused_family = None
        if row is None:
            reused_family = await session.scalar(
                select(RefreshToken.family_id).where(
                    RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_not(None)
                )
            )
            if reused_family is not None:
                await _revoke_family(session, reused_family, now)
                await audit.record(
                    session,
                    "auth.refresh_reuse_detected",
                    actor_id=None,
                    ip=uow.client_ip,
                    family=str(reused_family),
                )
            tokens = None
        else:
            user = await session.get(User, row.user_id)
            if user is None or blocked_error(user, now) is not None:
                tokens = None
            else:
                tokens = await _issue(uow, session, user, family_id=row.family_id)
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
    """Revoke the session (refresh-token family) the token belongs to."""
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


async def update_profile(
    uow: UnitOfWork,
    actor: User,
    *,
    display_name: str | None,
    bio: str | None,
    timezone: str | None,
    specialization_ids: list[int] | None,
) -> User:
    values: dict[str, object] = {}
    if display_name is not None:
        values["display_name"] = validation.text(display_name, "displayName", min_length=1, max_length=80)
    if bio is not None:
        values["bio"] = validation.text(bio, "bio", min_length=0, max_length=2000)
    if timezone is not None:
        values["timezone"] = validation.timezone(timezone)
    if specialization_ids is not None and len(specialization_ids) > 50:
        raise BadUserInput("At most 50 specializations.", field="specializationIds")
    async with uow.db.transaction() as session:
        if values:
            await session.execute(update(User).where(User.id == actor.id).values(**values))
        if specialization_ids is not None:
            wanted = sorted(set(specialization_ids))
            found = (
                await session.scalars(select(Specialization.id).where(Specialization.id.in_(wanted)))
            ).all()
            if len(found) != len(wanted):
                raise BadUserInput("Unknown specialization.", field="specializationIds")
            await session.execute(delete(UserSpecialization).where(UserSpecialization.user_id == actor.id))
            if wanted:
                await session.execute(
                    insert(UserSpecialization),
                    [{"user_id": actor.id, "specialization_id": s} for s in wanted],
                )
        user = await session.get(User, actor.id, populate_existing=True)
        assert user is not None
    forget(uow.loaders.user, actor.id)
    forget(uow.loaders.user_specialization_ids, actor.id)
    return user
