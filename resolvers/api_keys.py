"""API keys: create (secret shown once, stored hashed), list, revoke, and authenticate with one."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, select, update

from app.core.enums import ApiKeyScope
from app.core.errors import Conflict, NotFound, Unauthenticated
from db.models import ApiKey, User
from db.session import Db
from resolvers import audit, validation
from resolvers.accounts.sessions import blocked_error
from resolvers.unit_of_work import Services, UnitOfWork

KEY_PREFIX = "mik_"
SHOWN_PREFIX_LENGTH = 12
LAST_USED_GRANULARITY = timedelta(minutes=1)
MAX_KEYS_PER_MEMBER = 50
INVALID_API_KEY = "Invalid or revoked API key."


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


async def create_api_key(uow: UnitOfWork, actor: User, name: str, scope: ApiKeyScope) -> tuple[ApiKey, str]:
    """A new key for the actor and its secret (which is not stored)."""
    name = validation.text(name, "name", min_length=1, max_length=80)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    async with uow.db.transaction() as session:
        active = (
            await session.scalars(
                select(ApiKey.id).where(ApiKey.user_id == actor.id, ApiKey.revoked_at.is_(None))
            )
        ).all()
        if len(active) >= MAX_KEYS_PER_MEMBER:
            raise Conflict(f"At most {MAX_KEYS_PER_MEMBER} active API keys.")
        key = ApiKey(
            user_id=actor.id,
            name=name,
            prefix=secret[:SHOWN_PREFIX_LENGTH],
            key_hash=hash_key(secret),
            scope=scope,
        )
        session.add(key)
        await session.flush()
        await audit.record(
            session,
            "api_key.created",
            actor_id=actor.id,
            target_type="ApiKey",
            target_id=key.id,
            ip=uow.client_ip,
            scope=scope,
        )
        await session.refresh(key)
    return key, secret


def api_keys_statement(user_id: Any, *, after_id: Any, limit: Any) -> Select[Any]:
    """A member's keys, newest first (keyset on id; revoked ones included)."""
    statement = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id.desc()).limit(limit)
    if after_id is not None:
        statement = statement.where(ApiKey.id < after_id)
    return statement


async def list_api_keys(
    uow: UnitOfWork, actor: User, *, after_id: int | None, limit: int
) -> Sequence[ApiKey]:
    """The actor's keys, newest first (revoked ones included)."""
    statement = api_keys_statement(actor.id, after_id=after_id, limit=limit)
    return (await uow.db.execute(statement)).scalars().all()


async def own_api_keys(uow: UnitOfWork, actor: User | None, ids: Sequence[int]) -> list[ApiKey | None]:
    """API keys by id, None for those that are not the actor's."""
    if actor is None or not ids:
        return [None for _ in ids]
    statement = select(ApiKey).where(ApiKey.id.in_(ids), ApiKey.user_id == actor.id)
    by_id = {row.id: row for row in (await uow.db.execute(statement)).scalars()}
    return [by_id.get(i) for i in ids]


async def revoke_api_key(uow: UnitOfWork, actor: User, key_id: int) -> ApiKey:
    """Revoke one of the actor's keys (idempotent); someone else's key is NOT_FOUND."""
    now = uow.now()
    async with uow.db.transaction() as session:
        key = await session.scalar(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == actor.id).with_for_update()
        )
        if key is None:
            raise NotFound("No ApiKey with this ID.")
        if key.revoked_at is None:
            key.revoked_at = now
            await audit.record(
                session,
                "api_key.revoked",
                actor_id=actor.id,
                target_type="ApiKey",
                target_id=key.id,
                ip=uow.client_ip,
            )
        await session.flush()
    return key


async def authenticate_api_key(
    app: Services, db: Db, secret: str
) -> tuple[User | None, Exception | None, str | None]:
    """The owner of an active key, or the error to report; also the key's scope."""
    now = app.clock.now()
    session = db.session
    key = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
    )
    if key is None:
        return None, Unauthenticated(INVALID_API_KEY), None
    user = await session.get(User, key.user_id)
    if user is None:
        return None, Unauthenticated(INVALID_API_KEY), None
    blocked = blocked_error(user, now)
    if blocked is not None:
        return None, blocked, None
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_GRANULARITY:
        # Conditional so that concurrent requests write at most once a minute.
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key.id,
                (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_GRANULARITY),
            )
            .values(last_used_at=now)
        )
        await session.commit()
    return user, None, key.scope
