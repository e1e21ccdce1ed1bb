"""Web push: members' browser subscriptions and the channel that sends to them (RFC 8030 request,
RFC 8291 encryption, RFC 8292 VAPID; app/core/web_push.py)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from app.core import netguard, web_push
from app.core.errors import BadUserInput
from app.core.settings import Settings
from db.models import PushSubscription, User
from resolvers import validation
from resolvers.deliveries.channels import DeliveryFailed, Outgoing
from resolvers.deliveries.content import push_payload
from resolvers.unit_of_work import UnitOfWork

MAX_SUBSCRIPTIONS_PER_MEMBER = 20  # browsers and devices; the oldest go first
MAX_ENDPOINT_LENGTH = 2000
GONE_STATUSES = frozenset({404, 410})  # RFC 8030 section 7.3: the subscription expired or was removed
RETRY_STATUSES = frozenset({408, 425, 429})


def _checked(uow: UnitOfWork, endpoint: str, p256dh: str, auth: str) -> tuple[str, str, str]:
    clean = validation.text(endpoint, "endpoint", min_length=1, max_length=MAX_ENDPOINT_LENGTH)
    try:
        # Push services are on the internet; inside the network only outside production (SSRF).
        netguard.check_url_shape(clean, allow_private=not uow.settings.is_production)
    except netguard.UnsafeUrl as exc:
        raise BadUserInput(str(exc), field="endpoint") from exc
    public = validation.text(p256dh, "p256dh", min_length=1, max_length=200)
    secret = validation.text(auth, "auth", min_length=1, max_length=200)
    try:
        web_push.subscription_keys(public, secret)
    except web_push.WebPushKeyError as exc:
        raise BadUserInput(str(exc), field="auth" if str(exc).startswith("auth") else "p256dh") from exc
    return clean, public, secret


async def register_push_subscription(
    uow: UnitOfWork, actor: User, endpoint: str, p256dh: str, auth: str
) -> bool:
    """Add (or refresh the keys of) a browser's subscription; an endpoint is one browser, so one
    registered by another member moves to the actor (the browser's current user)."""
    clean, p256dh, auth = _checked(uow, endpoint, p256dh, auth)
    values = {"user_id": actor.id, "endpoint": clean, "p256dh": p256dh, "auth": auth}
    async with uow.db.transaction() as session:
        await session.execute(
            insert(PushSubscription)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["endpoint"], set_={"user_id": actor.id, "p256dh": p256dh, "auth": auth}
            )
        )
        beyond_limit = (
            select(PushSubscription.id)
            .where(PushSubscription.user_id == actor.id)
            .order_by(PushSubscription.id.desc())
            .offset(MAX_SUBSCRIPTIONS_PER_MEMBER)
        )
        await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(beyond_limit)))
    return True


async def remove_push_subscription(uow: UnitOfWork, actor: User, endpoint: str) -> bool:
    """Remove one of the actor's subscriptions (a browser that unsubscribed); False when none matches."""
    async with uow.db.transaction() as session:
        removed = await session.execute(
            delete(PushSubscription)
            .where(PushSubscription.endpoint == endpoint, PushSubscription.user_id == actor.id)
            .returning(PushSubscription.id)
        )
        return removed.first() is not None


@dataclass(frozen=True)
class PushChannel:
    """POSTs the encrypted notification to the subscription's endpoint with a VAPID token."""

    settings: Settings
    vapid: web_push.Vapid
    client: httpx.AsyncClient

    async def send(self, item: Outgoing) -> int | None:
        subscription = await item.session.get(PushSubscription, item.delivery.push_subscription_id)
        if subscription is None:  # the CHECK constraint names one; ON DELETE CASCADE removes this row
            raise DeliveryFailed("push subscription removed", permanent=True)
        if self.settings.is_production:  # again at every send, like webhooks
            parts = urlsplit(subscription.endpoint)
            try:
                await netguard.check_resolved(parts.hostname or "", parts.port or 443)
            except netguard.UnsafeUrl as exc:
                raise DeliveryFailed(str(exc), permanent=True) from exc
        keys = web_push.subscription_keys(subscription.p256dh, subscription.auth)
        plaintext = push_payload(item.notification, item.delivery.id, web_push.MAX_PLAINTEXT_BYTES)
        headers = {
            "Authorization": self.vapid.authorization(subscription.endpoint, int(item.now.timestamp())),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.settings.web_push_ttl_seconds),
            "Urgency": "normal",
        }
        try:
            response = await self.client.post(
                subscription.endpoint,
                content=web_push.encrypt(plaintext, keys),
                headers=headers,
                timeout=self.settings.web_push_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        return _result(response.status_code)


def _result(status: int) -> int:
    """2xx is accepted; 404/410 the subscription is gone; other 4xx cannot succeed on a retry."""
    if 200 <= status < 300:
        return status
    if status in GONE_STATUSES:
        raise DeliveryFailed(f"HTTP {status}", target_gone=True, response_status=status)
    permanent = 400 <= status < 500 and status not in RETRY_STATUSES
    raise DeliveryFailed(f"HTTP {status}", permanent=permanent, response_status=status)
