"""Websocket authentication: the `connection_init` token, closing a socket when it expires, and
following the member's control channel for the socket's life (docs/trust.md, "Revocation")."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strawberry.exceptions import ConnectionRejectionError

from app.core.enums import ControlKind
from app.core.events import HubError
from app.core.tokens import InvalidToken
from db.session import Db
from resolvers.accounts.authentication import authenticate_with_method
from resolvers.unit_of_work import Services
from schema.context import Context
from schema.live_context import LiveContext, expiry_timers
from schema.subscriptions import ends_session, reload_viewer

logger = logging.getLogger("mockinterview.live")

# A socket whose access ended closes this long after the message, so that its subscriptions first
# send their own UNAUTHENTICATED error (schema.subscriptions).
CLOSE_GRACE_SECONDS = 0.1


def _close_when_token_expires(app: Services, context: Context, authorization: str) -> None:
    """An access token is short-lived; the socket it opened must not outlive it (client reconnects)."""
    if not isinstance(context, LiveContext):
        return
    _, _, token = authorization.partition(" ")
    try:
        claims = app.tokens.verify(token.strip(), app.clock.now())
    except InvalidToken:
        return
    remaining = claims.issued_at + app.tokens.ttl - app.clock.now().timestamp()
    loop = asyncio.get_running_loop()

    def expire() -> None:
        expiry_timers.discard(handle)
        task = loop.create_task(context.close_socket(4403, "Access token expired"))
        _closing_tasks.add(task)
        task.add_done_callback(_closing_tasks.discard)

    handle = loop.call_later(max(0.0, remaining), expire)
    expiry_timers.add(handle)
    context.expiry_timer = handle


_closing_tasks: set[asyncio.Task[None]] = set()


def _watch_control(app: Services, context: Context) -> None:
    """Follow the member's control channel while the socket lives: close it (4403) when its access
    ends (blocked, logged out everywhere, its session or API keys revoked); take the new role when
    it changes, so that later operations on the socket use it."""
    if not isinstance(context, LiveContext) or context.viewer is None:
        return
    context.control_watcher = asyncio.create_task(_follow_control(app, context, context.viewer.id))


async def _follow_control(app: Services, context: LiveContext, user_id: int) -> None:
    try:
        async with app.hub.subscribe(app.channels.control(user_id)) as control:
            async for message in control:
                if message.get("kind") == ControlKind.ROLE_CHANGED:
                    if await reload_viewer(context):
                        continue
                elif not ends_session(context, message):
                    continue
                await asyncio.sleep(CLOSE_GRACE_SECONDS)
                await context.close_socket(4403, "Session ended")
                return
    except HubError:  # the hub stopped or is unreachable; subscriptions report that themselves
        logger.info("control channel of a socket not followed", exc_info=True)
    except Exception:  # e.g. the member could not be re-read: fail closed, the client reconnects
        logger.warning("control channel watcher failed; closing the socket", exc_info=True)
        await context.close_socket(1011, "Try again later")


def token_from_params(params: dict[str, Any] | None) -> str | None:
    """The `Authorization` value of a `connection_init` payload (either spelling), if any."""
    if not params:
        return None
    value = params.get("Authorization", params.get("authorization"))
    return value if isinstance(value, str) else None


async def authenticate_socket(app: Services, context: Context) -> None:
    """Check the token of `connection_init`; raise ConnectionRejectionError for a bad one.

    A socket without a token stays anonymous (public board only). The viewer is kept on the
    context; the lookup uses a short-lived Db so the socket never holds a database connection.
    """
    authorization = token_from_params(getattr(context, "connection_params", None))
    if authorization is not None:
        db = Db(app.sessionmaker)
        try:
            viewer, error, credentials = await authenticate_with_method(app, db, authorization)
        finally:
            await db.close()
        context.viewer, context.auth_error = viewer, error
        context.auth_method, context.api_key_scope = credentials.method, credentials.api_key_scope
        context.session_id = credentials.session_id
    if context.auth_error is not None:
        raise ConnectionRejectionError({"message": str(context.auth_error)})
    if authorization is not None and context.auth_method == "password":
        _close_when_token_expires(app, context, authorization)
    _watch_control(app, context)
    # get_context may have authenticated from a header with the socket's Db: release it now.
    socket_db = context._socket_db if isinstance(context, LiveContext) else context.db
    await socket_db.close()
