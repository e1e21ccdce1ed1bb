"""Credentials: signing up, logging in and changing the password, rate-limited per IP and email."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.core.enums import LedgerKind
from app.core.errors import BadUserInput, Conflict, RateLimited, Unauthenticated
from app.core.tokens import hash_token
from dataloaders import forget
from db.models import RefreshToken, User
from resolvers import audit, validation
from resolvers.accounts.revocation import announce_sessions_revoked, revoke_api_keys
from resolvers.accounts.sessions import IssuedTokens, blocked_error, issue_tokens
from resolvers.points import change_balance
from resolvers.unit_of_work import UnitOfWork

INVALID_CREDENTIALS = "Invalid email or password."


async def throttle(uow: UnitOfWork, key: str, limit: int) -> None:
    retry_after = await uow.services.rate_limiter.hit(key, limit, uow.settings.rate_limit_window_seconds)
    if retry_after is not None:
        raise RateLimited(retry_after)


async def sign_up(uow: UnitOfWork, email: str, password: str, display_name: str) -> IssuedTokens:
    email = validation.email(email)
    password = validation.password(password)
    display_name = validation.text(display_name, "displayName", min_length=1, max_length=80)
    settings = uow.settings
    await throttle(uow, f"signup:ip:{uow.client_ip}", settings.rate_limit_signup_per_ip)
    await throttle(uow, f"signup:email:{email}", settings.rate_limit_signup_per_email)
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
                session,
                user.id,
                settings.signup_grant_points,
                LedgerKind.GRANT,
                reason="Signup grant",
                uow=None,  # part of opening the account, not news (docs/product.md, rule 26)
            )
        await audit.record(
            session,
            "auth.sign_up",
            actor_id=user.id,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
        )
        tokens = await issue_tokens(uow, session, user)
        await session.refresh(user)
    return tokens


async def log_in(uow: UnitOfWork, email: str, password: str) -> IssuedTokens:
    settings = uow.settings
    normalized = email.strip().lower()[:254]
    await throttle(uow, f"login:ip:{uow.client_ip}", settings.rate_limit_login_per_ip)
    await throttle(uow, f"login:email:{normalized}", settings.rate_limit_login_per_email)
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
            tokens = await issue_tokens(uow, session, user)
    if failed:
        raise Unauthenticated(INVALID_CREDENTIALS)
    return tokens


async def change_password(
    uow: UnitOfWork,
    actor: User,
    current_password: str,
    new_password: str,
    keep_refresh_token: str | None,
    session_id: uuid.UUID | None = None,
) -> bool:
    """Change the actor's password. Every other session (refresh-token family) ends, with its access
    tokens, and every API key is revoked; kept: the caller's session `session_id` (the one its access
    token names) and the session of `keep_refresh_token`, if that is the actor's."""
    settings = uow.settings
    await throttle(uow, f"password:user:{actor.id}", settings.rate_limit_login_per_email)
    new_password = validation.password(new_password)
    if len(current_password) > 256 or not await uow.services.passwords.verify(
        actor.password_hash, current_password
    ):
        raise BadUserInput("The current password is wrong.", field="currentPassword")
    new_hash = await uow.services.passwords.hash(new_password)
    now = uow.now()
    async with uow.db.transaction() as session:
        await session.execute(update(User).where(User.id == actor.id).values(password_hash=new_hash))
        kept: set[uuid.UUID] = {session_id} if session_id is not None else set()
        if keep_refresh_token:
            kept.update(
                await session.scalars(
                    select(RefreshToken.family_id).where(
                        RefreshToken.token_hash == hash_token(keep_refresh_token),
                        RefreshToken.user_id == actor.id,
                    )
                )
            )
        statement = update(RefreshToken).where(
            RefreshToken.user_id == actor.id, RefreshToken.revoked_at.is_(None)
        )
        if kept:
            statement = statement.where(RefreshToken.family_id.not_in(kept))
        revoked = await session.scalars(statement.values(revoked_at=now).returning(RefreshToken.family_id))
        ended = set(revoked)
        api_keys = await revoke_api_keys(session, actor.id, now)
        announce_sessions_revoked(uow, actor.id, ended, api_keys=True)
        await audit.record(
            session,
            "auth.password_changed",
            actor_id=actor.id,
            target_type="User",
            target_id=actor.id,
            ip=uow.client_ip,
            sessions=len(ended),
            api_keys=api_keys,
        )
    forget(uow.loaders.user, actor.id)
    return True
