"""Members' webhooks: create (the signing secret shown once), list, delete, and their delivery log;
the staff's list of dead-lettered deliveries."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select

from app.core import netguard
from app.core.enums import STAFF_ROLES, DeliveryStatus, NotificationKind
from app.core.errors import BadUserInput, Conflict
from db.models import Delivery, User, Webhook
from resolvers import validation
from resolvers.unit_of_work import UnitOfWork

MAX_WEBHOOKS_PER_MEMBER = 10
MAX_URL_LENGTH = 2000
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def _checked_url(uow: UnitOfWork, url: str) -> str:
    clean = validation.text(url, "url", min_length=1, max_length=MAX_URL_LENGTH)
    try:
        # Private and loopback addresses only outside production (docs/product.md, rule 26).
        netguard.check_url_shape(clean, allow_private=not uow.settings.is_production)
    except netguard.UnsafeUrl as exc:
        raise BadUserInput(str(exc), field="url") from exc
    return clean


async def create_webhook(
    uow: UnitOfWork, actor: User, url: str, events: Sequence[NotificationKind]
) -> tuple[Webhook, str]:
    """A new webhook for the actor's notifications of the kinds in `events`, and its signing secret."""
    clean_url = _checked_url(uow, url)
    kinds = sorted({NotificationKind(kind).value for kind in events})
    if not kinds:
        raise BadUserInput("Name at least one notification kind.", field="events")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    async with uow.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Webhook).where(Webhook.user_id == actor.id)
        )
        if (count or 0) >= MAX_WEBHOOKS_PER_MEMBER:
            raise Conflict(f"At most {MAX_WEBHOOKS_PER_MEMBER} webhooks.")
        webhook = Webhook(user_id=actor.id, url=clean_url, secret=secret, events=kinds)
        session.add(webhook)
        await session.flush()
        await session.refresh(webhook)
    return webhook, secret


async def delete_webhook(uow: UnitOfWork, actor: User, webhook_id: int) -> bool:
    """Delete one of the actor's webhooks (and its delivery log); False when it is not theirs."""
    async with uow.db.transaction() as session:
        deleted = await session.execute(
            delete(Webhook).where(Webhook.id == webhook_id, Webhook.user_id == actor.id).returning(Webhook.id)
        )
        return deleted.first() is not None


def webhooks_statement(user_id: Any) -> Select[Any]:
    """A member's webhooks, oldest first."""
    return select(Webhook).where(Webhook.user_id == user_id).order_by(Webhook.id)


async def list_webhooks(uow: UnitOfWork, actor: User) -> Sequence[Webhook]:
    return (await uow.db.execute(webhooks_statement(actor.id))).scalars().all()


async def visible_webhooks(uow: UnitOfWork, actor: User | None, ids: Sequence[int]) -> list[Webhook | None]:
    """Webhooks by id, None for those that are not the actor's."""
    if actor is None or not ids:
        return [None for _ in ids]
    statement = select(Webhook).where(Webhook.id.in_(list(ids)), Webhook.user_id == actor.id)
    by_id = {row.id: row for row in (await uow.db.execute(statement)).scalars()}
    return [by_id.get(i) for i in ids]


def webhook_deliveries_statement(webhook_id: Any, *, after_id: Any, limit: Any) -> Select[Any]:
    """A webhook's delivery log, newest first (keyset on id)."""
    statement = (
        select(Delivery).where(Delivery.webhook_id == webhook_id).order_by(Delivery.id.desc()).limit(limit)
    )
    if after_id is not None:
        statement = statement.where(Delivery.id < after_id)
    return statement


async def webhook_deliveries(
    uow: UnitOfWork, webhook: Webhook, *, after_id: int | None, limit: int
) -> Sequence[Delivery]:
    """A webhook's delivery log, newest first (callers check that the viewer owns the webhook)."""
    statement = webhook_deliveries_statement(webhook.id, after_id=after_id, limit=limit)
    return (await uow.db.execute(statement)).scalars().all()


def failed_deliveries_statement(*, after_id: Any, limit: Any) -> Select[Any]:
    """Dead-lettered deliveries of every member, newest first (keyset on id)."""
    statement = (
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.FAILED)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if after_id is not None:
        statement = statement.where(Delivery.id < after_id)
    return statement


async def failed_deliveries(uow: UnitOfWork, *, after_id: int | None, limit: int) -> Sequence[Delivery]:
    """Dead-lettered deliveries of every member, newest first (staff only, by the field's directive)."""
    statement = failed_deliveries_statement(after_id=after_id, limit=limit)
    return (await uow.db.execute(statement)).scalars().all()


async def visible_deliveries(
    uow: UnitOfWork, actor: User | None, ids: Sequence[int]
) -> list[Delivery | None]:
    """Deliveries by id, None for those the actor may not see (their own; staff all)."""
    if actor is None or not ids:
        return [None for _ in ids]
    statement = select(Delivery).where(Delivery.id.in_(list(ids)))
    if actor.role not in STAFF_ROLES:
        statement = statement.where(Delivery.user_id == actor.id)
    by_id = {row.id: row for row in (await uow.db.execute(statement)).scalars()}
    return [by_id.get(i) for i in ids]
