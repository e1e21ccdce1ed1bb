"""What a domain operation works with: the process's services and one unit of work.

Domain operations are plain async functions `(uow, actor, ...) -> rows`. GraphQL resolvers, the
command line, the OAuth callback and background jobs build a `UnitOfWork` and call the same
function for the same action; nothing here knows about GraphQL or HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.channels import Channels
from app.core.clock import Clock
from app.core.events import EventHub, EventSink
from app.core.passwords import Passwords
from app.core.ratelimit import RateLimiter
from app.core.session_cache import SessionCache
from app.core.settings import Settings
from app.core.tokens import AccessTokens
from dataloaders import Loaders
from db.session import Db

logger = logging.getLogger("mockinterview.events")


@dataclass
class Services:
    """Everything built once per process and shared by every unit of work."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    passwords: Passwords
    tokens: AccessTokens
    rate_limiter: RateLimiter
    hub: EventHub
    clock: Clock = field(default_factory=Clock)
    # Live sessions remembered for a few seconds; unused until the wiring makes it follow the hub.
    session_cache: SessionCache = field(default_factory=SessionCache)
    # Where committed changes are announced; the hub itself unless the wiring adds a layer
    # (e.g. clearing this instance's response cache first).
    events: EventSink | None = None

    def __post_init__(self) -> None:
        if self.events is None:
            self.events = self.hub

    @property
    def channels(self) -> Channels:
        return Channels(self.settings.redis_prefix)


@dataclass
class UnitOfWork:
    """One operation's database access, read caches and events, with the process's services."""

    services: Services
    db: Db
    loaders: Loaders
    client_ip: str = "unknown"

    @classmethod
    def open(cls, services: Services, *, client_ip: str = "unknown") -> UnitOfWork:
        """A unit of work outside any request (command line, jobs); `close()` it when done."""
        db = Db(services.sessionmaker)
        return cls(services=services, db=db, loaders=Loaders(db), client_ip=client_ip)

    async def close(self) -> None:
        await self.db.close()

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def channels(self) -> Channels:
        return self.services.channels

    def now(self) -> datetime:
        return self.services.clock.now()

    def publish_after_commit(self, channel: str, message: dict[str, Any]) -> None:
        """Announce `message` on `channel` once the current transaction commits (never before,
        never for a rollback). Best effort: a failing hub must not fail a committed change."""
        sink = self.services.events

        async def publish() -> None:
            if sink is None:
                return
            try:
                await sink.publish(channel, message)
            except Exception:  # the change is committed; clients re-fetch after reconnecting
                logger.warning("could not publish to %s", channel, exc_info=True)

        self.db.after_commit(publish)
