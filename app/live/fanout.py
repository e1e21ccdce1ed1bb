"""Shared fan-out of the open-slot board over graphql-transport-ws (`WS_SHARED_FANOUT`).

Without this, every board subscriber runs its own GraphQL execution and JSON encoding per event.
Here subscribers whose results cannot differ — same document, variables, operation name and
viewer visibility (anonymous, or the same member with the same role and credentials) — form a
group. One leader task per group drives `schema.stream` once (so authentication, filters, the
per-event database scope and error codes are exactly those of the normal path), serialises each
result once and pushes the JSON text to every member's bounded queue. A member only splices its
operation id into the frame and sends it.

A member whose queue holds `QUEUE_SIZE` unsent frames is dropped with SUBSCRIBER_TOO_SLOW, as the
hub does on the normal path. The leader stops when its last member leaves. Other subscriptions
(per-interview, per-member feeds) and the legacy graphql-ws protocol stay on the normal path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from dataclasses import dataclass, fields
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from dataloaders import Loaders
from db.session import Db
from schema.context import Context
from schema.extensions.errors import classify
from schema.live_context import LiveContext
from schema.subscriptions import TooSlow

logger = logging.getLogger("mockinterview.live")

SHARED_FIELDS = frozenset({"openSlotsChanged"})
QUEUE_SIZE = 100  # frames per member, like the hub's per-subscriber queue
MAX_SHARED_QUERY_CHARS = 4000

GroupKey = tuple[int, str, bytes, str | None, tuple[object, ...]]


@functools.lru_cache(maxsize=256)
def shareable(query: str, operation_name: str | None) -> bool:
    """True when the operation is a subscription whose only root field is a shared one."""
    if len(query) > MAX_SHARED_QUERY_CHARS:
        return False
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return False  # the normal path reports it (close 4400)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        return False
    selections = operations[0].selection_set.selections
    return (
        len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value in SHARED_FIELDS
    )


def visibility_key(context: Context) -> tuple[object, ...]:
    """What a result may depend on about the viewer (Slot.videoLink: id and role; API key scope), and
    the session, whose revocation ends the group's stream (schema.subscriptions)."""
    viewer = context.viewer
    if viewer is None:
        return ("anonymous",)
    return ("member", viewer.id, viewer.role, context.auth_method, context.api_key_scope, context.session_id)


@dataclass(frozen=True)
class End:
    """How a member's stream ends: an optional last message (type, JSON payload), then complete."""

    message_type: str | None = None
    payload: str | None = None


def _too_slow() -> End:
    error = TooSlow("Too many events were not read in time; re-fetch and subscribe again.")
    formatted = classify(GraphQLError(str(error), original_error=error)).formatted
    return End("next", orjson.dumps({"data": None, "errors": [formatted]}).decode())


class Member:
    """One subscriber of a group: a bounded queue of serialised payloads for its socket."""

    __slots__ = ("_end", "_frames", "_wakeup", "context", "group")

    def __init__(self, group: Group, context: Context) -> None:
        self.group = group
        self.context = context
        self._frames: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._end: End | None = None

    def push(self, payload: str) -> None:
        if self._end is not None:
            return
        if len(self._frames) >= QUEUE_SIZE:
            self._frames.clear()
            self._end = _too_slow()
            logger.info("board subscriber fell behind; dropped")
        else:
            self._frames.append(payload)
        self._wakeup.set()

    def finish(self, end: End) -> None:
        """End after the frames already queued."""
        if self._end is None:
            self._end = end
            self._wakeup.set()

    async def get(self) -> str | End:
        while True:
            if self._frames:
                return self._frames.popleft()
            if self._end is not None:
                return self._end
            self._wakeup.clear()
            await self._wakeup.wait()


class GroupContext(LiveContext):
    """The leader's context: a member's viewer, its own Db; closing it closes every member socket."""

    group: Group

    @classmethod
    def of(cls, group: Group, context: Context) -> GroupContext:
        values = {f.name: getattr(context, f.name) for f in fields(Context)}
        db = Db(context.services.sessionmaker)
        shared = cls(**{**values, "db": db, "loaders": Loaders(db)})
        shared.group = group
        return shared

    async def close_socket(self, code: int = 4403, reason: str = "Forbidden") -> None:
        if self.closing:
            return
        self.closing = True
        for member in list(self.group.members):
            if isinstance(member.context, LiveContext):
                await member.context.close_socket(code, reason)


class Group:
    """Subscribers that get the same bytes; one leader task executes for all of them."""

    def __init__(self, key: GroupKey) -> None:
        self.key = key
        self.members: dict[Member, None] = {}
        self.leader: asyncio.Task[None] | None = None
        self.done = False

    def broadcast(self, payload: str) -> None:
        for member in self.members:
            member.push(payload)

    def finish(self, end: End) -> None:
        self.close()
        for member in self.members:
            member.finish(end)

    def close(self) -> None:
        self.done = True
        if _groups.get(self.key) is self:
            del _groups[self.key]


_groups: dict[GroupKey, Group] = {}
_leaders: set[asyncio.Task[None]] = set()


def group_count() -> int:
    """Groups with members in this process (for tests and metrics)."""
    return len(_groups)


def leader_count() -> int:
    """Leader tasks still running in this process."""
    return len(_leaders)


def _payload(result: ExecutionResult) -> str:
    """The `next` payload exactly as strawberry's Operation.send_next builds it, serialised once."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return orjson.dumps(payload).decode()


async def _lead(group: Group, handler: SharedFanoutHandler, operation: Operation[Context, None]) -> None:
    """Execute the group's subscription once and hand every result to all members."""
    end = End()
    try:
        source = await handler.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=group_context(group, handler.context),
            root_value=handler.root_value,
            operation_name=operation.operation_name,
        )
        async with aclosing(source):
            first = True
            async for result in source:
                if first and isinstance(result, PreExecutionError):
                    errors = [e.formatted for e in result.errors or []]
                    end = End("error", orjson.dumps(errors).decode())
                    return
                if not isinstance(result, ExecutionResult):  # incremental delivery: not on this field
                    return
                first = False
                group.broadcast(_payload(result))
    except Exception:
        logger.exception("shared board subscription failed")
    finally:
        group.finish(end)


def _encodable(variables: dict[str, Any] | None) -> bool:
    """Whether orjson can write `variables` (the group key): lone surrogates and integers beyond 64 bits
    it cannot, and the normal path answers those with a coded error."""
    try:
        orjson.dumps(variables or {})
    except TypeError:
        return False
    return True


def group_context(group: Group, context: Context) -> Context:
    return GroupContext.of(group, context) if isinstance(context, LiveContext) else context


def _join(handler: SharedFanoutHandler, operation: Operation[Context, None]) -> Member:
    context = handler.context
    variables = orjson.dumps(operation.variables or {}, option=orjson.OPT_SORT_KEYS)
    key: GroupKey = (
        id(context.services),
        operation.query,
        variables,
        operation.operation_name,
        visibility_key(context),
    )
    group = _groups.get(key)
    if group is None:
        group = _groups[key] = Group(key)
        leader = asyncio.create_task(_lead(group, handler, operation))
        group.leader = leader
        _leaders.add(leader)
        leader.add_done_callback(_leaders.discard)
    member = Member(group, context)
    group.members[member] = None
    return member


def _leave(member: Member) -> None:
    group = member.group
    group.members.pop(member, None)
    if not group.members and not group.done:
        group.close()
        if group.leader is not None:
            group.leader.cancel()


class SharedFanoutHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with board subscriptions served from shared groups."""

    def _shares(self, operation: Operation[Context, None]) -> bool:
        return (
            bool(self.context.settings.ws_shared_fanout)
            and isinstance(self.websocket, ASGIWebSocketAdapter)
            and isinstance(operation.query, str)
            and (operation.operation_name is None or isinstance(operation.operation_name, str))
            and (operation.variables is None or isinstance(operation.variables, dict))
            and _encodable(operation.variables)
            and shareable(operation.query, operation.operation_name)
        )

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        if not self._shares(operation):
            await super().run_operation(operation)
            return
        try:
            await self._run_shared(operation)
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _run_shared(self, operation: Operation[Context, None]) -> None:
        assert isinstance(self.websocket, ASGIWebSocketAdapter)
        socket = self.websocket.ws
        prefix = '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":'
        member = _join(self, operation)
        try:
            while not isinstance(item := await member.get(), End):
                if operation.completed:
                    return
                try:
                    await socket.send_text(prefix + item + "}")
                except (WebSocketDisconnect, RuntimeError):  # gone or closing: the handler cleans up
                    return
        finally:
            _leave(member)
        if item.message_type is not None and item.payload is not None:
            payload = orjson.loads(item.payload)
            message: Any = {"id": operation.id, "type": item.message_type, "payload": payload}
            await operation.send_operation_message(message)
        await operation.send_operation_message({"id": operation.id, "type": "complete"})
