"""The typed per-request Strawberry context (`strawberry.Info[Context, None]`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from starlette.requests import HTTPConnection

from app.core.errors import Forbidden, Unauthenticated
from app.core.settings import Settings
from dataloaders import Loaders
from db.models import User
from db.session import Db
from resolvers.unit_of_work import Services, UnitOfWork

# The ASGI scope key under which the HTTP layer's response cache receives a `CacheHint`.
CACHE_HINT_KEY = "mockinterview.response_cache"


@dataclass
class CacheHint:
    """When a response stops being valid, as the resolvers that built it saw (see `note_expiry`)."""

    noted: bool = False
    expires_at: datetime | None = None

    def note(self, when: datetime | None) -> None:
        self.noted = True
        if when is not None and (self.expires_at is None or when < self.expires_at):
            self.expires_at = when


@dataclass
class Context:
    """Typed Strawberry context (`strawberry.Info[Context, None]`)."""

    services: Services
    connection: HTTPConnection
    db: Db
    loaders: Loaders
    viewer: User | None = None
    auth_error: Exception | None = None
    # How the viewer authenticated: "anonymous", "password" (access token) or "api_key".
    auth_method: str = "anonymous"
    api_key_scope: str | None = None
    # The session (refresh-token family) the access token names; None for API keys and anonymous.
    session_id: uuid.UUID | None = None
    # The websocket `connection_init` payload (Strawberry sets it; see app/ws_auth.py).
    connection_params: dict[str, Any] | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def client_ip(self) -> str:
        return self.connection.client.host if self.connection.client else "unknown"

    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def uow(self) -> UnitOfWork:
        """This request's unit of work for domain operations (a websocket's: the current event's)."""
        return UnitOfWork(self.services, self.db, self.loaders, self.client_ip)

    def note_expiry(self, starts: Iterable[datetime]) -> None:
        """Tell a response cache that this response stops being valid when the earliest of
        `starts` passes (the board changes when a slot starts)."""
        scope = getattr(self.connection, "scope", None) or {}
        hint = scope.get("state", {}).get(CACHE_HINT_KEY)
        if isinstance(hint, CacheHint):
            hint.note(min(starts, default=None))

    def optional_viewer(self) -> User | None:
        """The signed-in member, None for anonymous; raises if a bad token was presented."""
        if self.auth_error is not None:
            raise self.auth_error
        return self.viewer

    def require_viewer(self) -> User:
        viewer = self.optional_viewer()
        if viewer is None:
            raise Unauthenticated()
        return viewer

    def require_session_viewer(self) -> User:
        """The viewer, refusing API keys: for managing keys, sessions and the password."""
        viewer = self.require_viewer()
        if self.auth_method == "api_key":
            raise Forbidden("API keys cannot do this; sign in with a session.")
        return viewer


# The typed `info` argument of every resolver.
Info = strawberry.Info[Context, None]
