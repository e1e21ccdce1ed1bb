"""A per-process cache that events invalidate, and so is trusted only while they are known to arrive."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.core.events.base import EventHub, HubClosed

logger = logging.getLogger("mockinterview.events")


class InvalidatedByEvents:
    """Base of caches that follow a hub channel: `follow` applies every message with `handle` and
    resubscribes after any hub trouble; `usable` is False while messages may be missed (not yet
    subscribed, hub disconnected) and clears the cache after a reconnect (messages published meanwhile
    were lost). Subclasses define `clear` and may override `handle` (default: clear everything)."""

    def __init__(self) -> None:
        self._ready = False
        self._hub: EventHub | None = None
        self._hub_epoch = 0

    def clear(self) -> None:
        raise NotImplementedError

    def handle(self, message: dict[str, Any]) -> None:
        self.clear()

    @property
    def usable(self) -> bool:
        """True while invalidations are known to arrive (subscribed, hub connected)."""
        if not self._ready or self._hub is None or not self._hub.connected:
            return False
        epoch = self._hub.reconnects
        if epoch != self._hub_epoch:
            self._hub_epoch = epoch
            self.clear()
        return True

    async def follow(self, hub: EventHub, channel: str) -> None:
        """Apply every message of `channel` until cancelled; resubscribe after any hub trouble."""
        self._hub = hub
        delay = 0.1
        while True:
            try:
                async with hub.subscribe(channel) as messages:
                    self._hub_epoch = hub.reconnects
                    self.clear()
                    self._ready = True
                    delay = 0.1
                    async for message in messages:
                        self.handle(message)
            except asyncio.CancelledError:
                raise
            except HubClosed:
                # Shutdown. (Python 3.11's wait_for can swallow a cancel that races a SUBSCRIBE
                # confirmation, so the hub closing is the reliable end of this loop.)
                return
            except Exception:  # SubscriberTooSlow, HubUnavailable: messages may be lost
                logger.warning(
                    "%s: following %s interrupted; cleared", type(self).__name__, channel, exc_info=True
                )
            finally:
                self._ready = False
                self.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
