"""Which sessions are live, remembered for a few seconds per process (docs/trust.md, "Revocation").

An access token names its session (`sid`, the refresh-token family). Every request checks that the
session is not revoked: on a miss the check rides along the viewer lookup (still one statement), on a
hit it costs nothing. Only live sessions are remembered. Entries are dropped:

- for a member, whenever their access changes (a session revoked, logged out everywhere, blocked,
  role changed): on the instance that made the change right after its commit, on every other one when
  the message on the access channel (`Channels.access`) reaches it through the events hub;
- all at once when that subscription breaks or Redis reconnects (messages may have been lost), and
  nothing is answered from memory while the hub is disconnected;
- `ttl_seconds` after they were stored, in any case.

A lookup that was answered while a member's access changed (the generation moved) is not stored, so a
read that saw the database before a revocation committed cannot re-fill the cache after its message.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from app.core.events.invalidated import InvalidatedByEvents

logger = logging.getLogger("mockinterview.auth")

MAX_ENTRIES = 10_000


class SessionCache(InvalidatedByEvents):
    """Live sessions of this process: session id -> (member id, expiry on the monotonic clock)."""

    def __init__(self, ttl_seconds: float = 0.0, *, max_entries: int = MAX_ENTRIES) -> None:
        super().__init__()
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._live: dict[uuid.UUID, tuple[int, float]] = {}

    def __len__(self) -> int:
        return len(self._live)

    def is_live(self, session_id: uuid.UUID, user_id: int) -> bool:
        """True when the session is known to be live (a hit); False means: ask the database."""
        entry = self._live.get(session_id) if self.usable else None  # `usable` may clear first
        if entry is not None:
            owner, expires = entry
            if owner == user_id and expires > time.monotonic():
                self.hits += 1
                return True
            self._live.pop(session_id, None)
        self.misses += 1
        return False

    def remember(self, session_id: uuid.UUID, user_id: int, generation: int) -> None:
        """Store a live session read from the database, unless access changed since `generation`."""
        # `usable` first: it clears (a new generation) when the hub reconnected meanwhile.
        if self.ttl_seconds <= 0 or not self.usable or generation != self.generation:
            return
        self._live[session_id] = (user_id, time.monotonic() + self.ttl_seconds)
        while len(self._live) > self.max_entries:
            del self._live[next(iter(self._live))]  # the oldest insertion

    def forget_member(self, user_id: int) -> None:
        """Drop a member's sessions (their access changed); in-flight lookups will not be stored."""
        self.generation += 1
        for session_id in [key for key, (owner, _) in self._live.items() if owner == user_id]:
            del self._live[session_id]

    def clear(self) -> None:
        self.generation += 1
        self._live.clear()

    def handle(self, message: dict[str, Any]) -> None:
        """One message of the access channel: forget its member (everything if it names nobody)."""
        user_id = message.get("userId")
        if isinstance(user_id, int):
            self.forget_member(user_id)
        else:
            self.clear()
