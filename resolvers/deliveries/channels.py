"""The channel interface: every way out of the app (email, webhooks, web push, Telegram) implements
`Channel`, and `sending.send_delivery` drives them all the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Delivery, Notification, User, Webhook


class DeliveryFailed(Exception):
    """One attempt failed. `permanent`: retrying cannot help (dead-letter at once). `target_gone`: the
    push subscription no longer exists at its push service; it is removed with its deliveries."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        response_status: int | None = None,
        target_gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or target_gone
        self.response_status = response_status
        self.target_gone = target_gone


@dataclass(frozen=True)
class Outgoing:
    """What a channel needs to send one delivery; `session` is the delivery's transaction (for reads
    such as the interview behind a calendar invite)."""

    session: AsyncSession
    delivery: Delivery
    notification: Notification
    member: User
    webhook: Webhook | None
    now: datetime


class Channel(Protocol):
    async def send(self, item: Outgoing) -> int | None:
        """Send once; the response status when the channel has one. Raises DeliveryFailed."""
        ...


Channels = Mapping[str, Channel]
