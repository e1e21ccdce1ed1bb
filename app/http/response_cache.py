"""Whole-response cache for anonymous board reads, invalidated by slot events.

Only anonymous `POST /graphql` JSON requests and `GET /graphql` requests whose chosen operation is a
query selecting nothing but allowlisted root fields (`openSlots`, `specializations`) are cached, keyed
by (method, normalised document, variables, operation name, response media type). A request naming its
document by hash is considered when this process already knows the document (`PersistedQueries.peek`:
no Redis round trip on this path); registrations, misses and refusals always reach the view. An entry
is dropped:

- on any slot event: locally and synchronously when this process publishes one (after commit, before
  the mutation replies), and through the events hub for writes made by other instances;
- when the hub subscription breaks (SubscriberTooSlow, hub restart) or Redis reconnects: events may
  have been lost, so everything goes, and nothing is cached while the hub is disconnected;
- at min(TTL, earliest `startsAt` of the slots the response was built from): the board changes when a
  slot starts, and member/specialization names change without slot events (TTL bounds that).

A response computed while an invalidation happened (generation changed) is never stored, so a read that
saw the database before a commit cannot repopulate the cache after that commit's event.

GET replies also tell shared caches (CDNs) what they may do (`cache_control_for_get`, set by the view):
`public, max-age=RESPONSE_CACHE_TTL_SECONDS` (less when a listed slot starts sooner) for an anonymous,
successful query of these root fields only; `private, no-store` with credentials; `no-store` otherwise.
A CDN hears no slot events, so its copies may be up to that max-age stale. A GET served from this cache
carries its `Age`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from graphql import DocumentNode, FieldNode, OperationDefinitionNode, OperationType, parse, print_ast
from graphql.error import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.clock import Clock
from app.core.events.base import EventSink
from app.core.events.invalidated import InvalidatedByEvents
from app.core.persisted_queries import PersistedQueries
from app.http.request_body import json_object, read_body, replaying
from schema.context import CACHE_HINT_KEY, CacheHint

logger = logging.getLogger("mockinterview.response_cache")

CACHEABLE_ROOT_FIELDS = frozenset({"openSlots", "specializations", "__typename"})
# Root fields whose result changes as time passes: the resolver must report the earliest start.
TIME_BOUND_ROOT_FIELDS = frozenset({"openSlots"})
MAX_CACHED_BODY_BYTES = 512_000
# Longer documents are never public over GET (bounds the memo of `public_root_fields`).
MAX_PUBLIC_DOCUMENT_CHARS = 16_000
_AUTH_HEADERS = (b"authorization", b"x-api-key", b"cookie")
_REQUEST_KEYS = frozenset({"query", "variables", "operationName", "extensions"})
# What a public GET reply depends on besides its URL.
PUBLIC_VARY = "Accept, Authorization, X-API-Key"


@dataclass
class _Entry:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    expires_monotonic: float
    expires_at: datetime | None
    stored_monotonic: float = 0.0


@dataclass(frozen=True)
class _Document:
    digest: bytes
    # Operation name (None for the single anonymous one) -> root field names; None if not cacheable.
    operations: dict[str | None, frozenset[str] | None] = field(default_factory=dict)


class ResponseCache(InvalidatedByEvents):
    """Bounded LRU of response bodies plus the state that says when they may be served."""

    def __init__(self, clock: Clock, *, ttl_seconds: float, max_entries: int) -> None:
        super().__init__()
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        # Misses being computed, per (key, generation): concurrent identical misses wait for the first.
        self.inflight: dict[tuple[bytes, int], asyncio.Future[_Entry | None]] = {}
        self.coalesced = 0
        self._documents: OrderedDict[str, _Document | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every entry and make in-flight responses unstorable."""
        self.generation += 1
        self._entries.clear()

    def get(self, key: bytes) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_monotonic <= time.monotonic() or (
            entry.expires_at is not None and entry.expires_at <= self.clock.now()
        ):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def analyse(self, query: str) -> _Document | None:
        """The normalised digest and cacheable operations of a document (memoised), None if unparsable."""
        if query in self._documents:
            self._documents.move_to_end(query)
            return self._documents[query]
        try:
            document: DocumentNode | None = parse(query, no_location=True, max_tokens=2000)
        except GraphQLError:
            document = None
        result = None
        if document is not None:
            digest = hashlib.sha256(print_ast(document).encode()).digest()
            result = _Document(digest, _operations(document))
        self._documents[query] = result
        while len(self._documents) > self.max_entries:
            self._documents.popitem(last=False)
        return result


class ClearingBeforePublish:
    """The event sink of an instance with a response cache: a board event clears this instance's
    cache before it is published, so the mutation that caused it replies after the clear (other
    instances clear when the event reaches them through the hub)."""

    def __init__(self, inner: EventSink, cache: ResponseCache, board_channel: str) -> None:
        self._inner = inner
        self._cache = cache
        self._board_channel = board_channel

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if channel == self._board_channel:
            self._cache.clear()
        await self._inner.publish(channel, message)


def _operations(document: DocumentNode) -> dict[str | None, frozenset[str] | None]:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    result: dict[str | None, frozenset[str] | None] = {}
    for op in ops:
        fields: frozenset[str] | None = None
        selections = op.selection_set.selections
        if op.operation == OperationType.QUERY and all(isinstance(s, FieldNode) for s in selections):
            names = frozenset(s.name.value for s in selections if isinstance(s, FieldNode))
            fields = names if names <= CACHEABLE_ROOT_FIELDS else None
        result[op.name.value if op.name else None] = fields
    if len(ops) == 1:
        result.setdefault(None, result[ops[0].name.value if ops[0].name else None])
    return result


@functools.lru_cache(maxsize=256)
def public_root_fields(query: str, operation_name: str | None) -> frozenset[str] | None:
    """The root fields of the chosen operation when it is a query of cacheable root fields only."""
    if len(query) > MAX_PUBLIC_DOCUMENT_CHARS:
        return None
    try:
        document = parse(query, no_location=True, max_tokens=2000)
    except GraphQLError:
        return None
    return _operations(document).get(operation_name)


def cache_control_for_get(
    *,
    credentials: bool,
    query: str | None,
    operation_name: str | None,
    succeeded: bool,
    hint: CacheHint,
    ttl_seconds: float,
    now: datetime,
) -> str:
    """The `Cache-Control` of a GET reply (see the module docstring)."""
    if credentials:
        return "private, no-store"
    fields = public_root_fields(query, operation_name) if succeeded and query is not None else None
    if not fields or (fields & TIME_BOUND_ROOT_FIELDS and not hint.noted):
        return "no-store"
    max_age = ttl_seconds
    if hint.expires_at is not None:
        max_age = min(max_age, (hint.expires_at - now).total_seconds())
    return f"public, max-age={int(max_age)}" if max_age >= 1 else "no-store"


class ResponseCacheLayer:
    """ASGI wrapper of the GraphQL HTTP endpoint that serves and stores cacheable responses."""

    def __init__(
        self,
        app: ASGIApp,
        get_cache: Callable[[], ResponseCache | None],
        get_documents: Callable[[], PersistedQueries | None] = lambda: None,
    ) -> None:
        self.app = app
        self.get_cache = get_cache
        # Without persisted queries, requests naming a document by hash pass through.
        self.get_documents = get_documents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"] if scope["type"] == "http" else None
        cache = self.get_cache() if method in ("GET", "POST") else None
        if cache is None or not cache.usable or not _anonymous(scope):
            await self.app(scope, receive, send)
            return
        replay: Receive = receive
        if method == "GET":
            request = _query_params(scope)
        else:
            body, complete = await read_body(receive)
            replay = replaying(body, complete, receive)
            request = json_object(body) if complete else None
        plan = _plan(cache, scope, request, self.get_documents()) if request is not None else None
        if plan is None:
            await self.app(scope, replay, send)
            return
        key, fields = plan
        entry = cache.get(key)
        if entry is not None:
            cache.hits += 1
            age = int(time.monotonic() - entry.stored_monotonic)
            await _send_entry(send, entry, [(b"age", str(age).encode())] if method == "GET" else [])
            return
        # Requests arriving while the same miss is computed share its response. They arrived before
        # any invalidation since it started (the generation is part of the key), so they overlap
        # the writes that could make it stale, and either answer is a correct one for them.
        leader = cache.inflight.get((key, cache.generation))
        if leader is not None:
            shared = await asyncio.shield(leader)
            if shared is not None:
                cache.coalesced += 1
                await _send_entry(send, shared)
                return
        cache.misses += 1
        await self._fill(cache, key, fields, scope, replay, send)

    async def _fill(
        self,
        cache: ResponseCache,
        key: bytes,
        fields: frozenset[str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        generation = cache.generation
        flight: asyncio.Future[_Entry | None] = asyncio.get_running_loop().create_future()
        cache.inflight.setdefault((key, generation), flight)
        entry: _Entry | None = None
        try:
            entry = await self._compute(cache, fields, scope, receive, send)
        finally:
            if cache.inflight.get((key, generation)) is flight:
                del cache.inflight[(key, generation)]
            flight.set_result(entry)
        # Stored only if no invalidation happened meanwhile (`usable` may itself clear on a reconnect).
        if entry is not None and cache.usable and generation == cache.generation:
            cache.put(key, entry)

    async def _compute(
        self, cache: ResponseCache, fields: frozenset[str], scope: Scope, receive: Receive, send: Send
    ) -> _Entry | None:
        """Run the request; its response as an entry when it may be shared (200, no errors)."""
        hint = CacheHint()
        scope.setdefault("state", {})[CACHE_HINT_KEY] = hint
        started: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if started is None or started["status"] != 200:
            return None
        if fields & TIME_BOUND_ROOT_FIELDS and not hint.noted:
            return None
        payload = b"".join(chunks)
        if len(payload) > MAX_CACHED_BODY_BYTES or not _successful(payload):
            return None
        headers = [(k, v) for k, v in started.get("headers", []) if k.lower() != b"x-request-id"]
        now = time.monotonic()
        return _Entry(headers, payload, now + cache.ttl_seconds, hint.expires_at, now)


async def _send_entry(send: Send, entry: _Entry, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [*entry.headers, *extra] if extra else entry.headers
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})


def _anonymous(scope: Scope) -> bool:
    """No credentials, and (POST) a JSON body."""
    content_type = b""
    for name, value in scope["headers"]:
        if name in _AUTH_HEADERS:
            return False
        if name == b"content-type":
            content_type = value
    return scope["method"] == "GET" or content_type.split(b";")[0].strip().lower() == b"application/json"


def _query_params(scope: Scope) -> dict[str, Any] | None:
    """A GET request's parameters, `variables` and `extensions` decoded; None when a name repeats or a
    JSON value does not parse (the view answers those)."""
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    request: dict[str, Any] = dict(pairs)
    if len(request) != len(pairs):
        return None
    for name in ("variables", "extensions"):
        if name in request:
            try:
                request[name] = orjson.loads(request[name])
            except orjson.JSONDecodeError:
                return None
    return request


def _document_text(request: dict[str, Any], documents: PersistedQueries | None) -> str | None:
    """The document a request runs, when known here at once; None: the view decides."""
    query, extensions = request.get("query"), request.get("extensions")
    if not isinstance(query, str | None) or not isinstance(extensions, dict | None):
        return None
    if extensions and set(extensions) - {"persistedQuery"}:
        return None
    if documents is None:
        return None if extensions else query
    return documents.peek(query, extensions)


def _plan(
    cache: ResponseCache, scope: Scope, request: dict[str, Any], documents: PersistedQueries | None
) -> tuple[bytes, frozenset[str]] | None:
    """The cache key and root fields of a cacheable request, else None."""
    if set(request) - _REQUEST_KEYS:
        return None
    query = _document_text(request, documents)
    variables, name = request.get("variables"), request.get("operationName")
    if query is None or not isinstance(name, str | None):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    document = cache.analyse(query)
    if document is None:
        return None
    fields = document.operations.get(name)
    if not fields:
        return None
    accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
    media = b"1" if b"application/graphql-response+json" in accept else b"0"
    key = hashlib.sha256(
        b"\0".join(
            [
                scope["method"].encode(),
                document.digest,
                orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
                (name or "").encode(),
                media,
            ]
        )
    ).digest()
    return key, fields


def _successful(payload: bytes) -> bool:
    try:
        response: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return isinstance(response, dict) and not response.get("errors") and response.get("data") is not None
