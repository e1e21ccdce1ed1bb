"""Persisted documents: Apollo's automatic persisted queries (APQ) and a fixed allowlist.

`PERSISTED_QUERIES` picks the mode:

- `apq` (the default): a request may name its document by `extensions.persistedQuery.sha256Hash`
  instead of sending it. A known hash runs its document; an unknown one gets
  `PERSISTED_QUERY_NOT_FOUND` ("PersistedQueryNotFound", what Apollo clients wait for), and the client
  sends the document with its hash: the hash is checked (sha256 of the text) and the document
  remembered once it ran. A hash names one text forever, so a remembered document is never stale: a
  per-process LRU sits in front of Redis (shared by instances: `REDIS_PREFIX` + `apq:` + hash,
  expiring after `PERSISTED_QUERIES_TTL_SECONDS`), or is the only store without Redis. A Redis that
  does not answer costs a miss (the client resends the document), never a failed request.
- `allowlist`: only the documents of `PERSISTED_QUERIES_FILE` run, named by their id or sent in full
  (the exact text); anything else gets `PERSISTED_QUERY_NOT_ALLOWED`, and nothing is registered.
- `off`: a request naming a persisted query gets `PERSISTED_QUERY_NOT_SUPPORTED` (Apollo clients then
  stop hashing and send documents).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from redis.asyncio import Redis

from app.core.errors import AppError, BadUserInput
from app.core.settings import Settings, SettingsError

logger = logging.getLogger("mockinterview.persisted_queries")

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
MANIFEST_FORMAT = "apollo-persisted-query-manifest"
LRU_SIZE = 1000
# Longer documents run but are not remembered (bounds the LRU's memory and Redis values).
MAX_DOCUMENT_CHARS = 32_000
REDIS_TIMEOUT_SECONDS = 1.0
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

Mode = Literal["off", "apq", "allowlist"]


def document_hash(document: str) -> str:
    """The APQ hash of a document: sha256 of its UTF-8 text, lower-case hex."""
    return hashlib.sha256(document.encode()).hexdigest()


class PersistedQueryError(AppError):
    """A persisted-query request that cannot run; `code` says why."""


def _not_allowed() -> PersistedQueryError:
    return PersistedQueryError(
        "This server only runs its persisted documents.", code=PERSISTED_QUERY_NOT_ALLOWED
    )


def parse_allowlist(data: object) -> dict[str, str]:
    """Id -> document from an Apollo persisted query manifest
    (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "body", ...}]}`)
    or a plain `{hash: document}` map. Raises ValueError for anything else."""
    pairs: list[tuple[object, object]]
    if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT:
        operations = data.get("operations")
        if data.get("version") != 1 or not isinstance(operations, list):
            raise ValueError("a manifest needs version 1 and a list of operations")
        if not all(isinstance(op, dict) for op in operations):
            raise ValueError("every operation must be an object with an id and a body")
        pairs = [(op.get("id"), op.get("body")) for op in operations]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ValueError("expected a persisted query manifest or a {hash: document} object")
    documents: dict[str, str] = {}
    for key, body in pairs:
        if not isinstance(key, str) or not key or not isinstance(body, str) or not body:
            raise ValueError(f"entry {key!r}: an id and a document (strings) are required")
        documents[key] = body
    return documents


def load_allowlist(path: Path | None) -> dict[str, str]:
    """The documents of PERSISTED_QUERIES_FILE; a missing or malformed file is a configuration error."""
    if path is None:
        raise SettingsError("PERSISTED_QUERIES=allowlist needs PERSISTED_QUERIES_FILE.")
    try:
        return parse_allowlist(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise SettingsError(f"PERSISTED_QUERIES_FILE {path}: {exc}") from exc


@dataclass(frozen=True)
class Resolved:
    """The document a request runs, and the hash to remember it by once it ran (APQ registration)."""

    document: str | None
    register_as: str | None = None


def _requested_hash(persisted: object) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadUserInput("Unsupported persisted query version.")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not sha:
        raise BadUserInput("extensions.persistedQuery.sha256Hash must be a string.")
    return sha


class PersistedQueries:
    """Resolves requests to documents in the configured mode (see the module docstring)."""

    def __init__(
        self,
        mode: Mode,
        *,
        allowlist: Mapping[str, str] | None = None,
        redis_prefix: str = "",
        ttl_seconds: int = 86_400,
        lru_size: int = LRU_SIZE,
    ) -> None:
        self.mode = mode
        self.allowlist = dict(allowlist or {})
        self.listed = frozenset(self.allowlist.values())
        # Set by the wiring when REDIS_URL is set (app/http/lifespan.py).
        self.redis: Redis | None = None
        self._key_prefix = redis_prefix + "apq:"
        self._ttl_seconds = ttl_seconds
        self._lru: OrderedDict[str, str] = OrderedDict()
        self._lru_size = lru_size
        self._redis_failing = False

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        mode = settings.persisted_queries
        allowlist = load_allowlist(settings.persisted_queries_file) if mode == "allowlist" else None
        return cls(
            mode,
            allowlist=allowlist,
            redis_prefix=settings.redis_prefix,
            ttl_seconds=settings.persisted_queries_ttl_seconds,
        )

    async def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> Resolved:
        """The document to run for a request's `query` and `extensions`; raises `PersistedQueryError`
        (or `BadUserInput` for a malformed `persistedQuery` or a hash that does not match)."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.mode == "allowlist" and query is not None and query not in self.listed:
                raise _not_allowed()
            return Resolved(query)
        if self.mode == "off":
            raise PersistedQueryError("PersistedQueryNotSupported", code=PERSISTED_QUERY_NOT_SUPPORTED)
        sha = _requested_hash(persisted)
        if self.mode == "allowlist":
            listed = self.allowlist.get(sha)
            if listed is None or (query is not None and query != listed):
                raise _not_allowed()
            return Resolved(listed)
        if query is not None:
            if document_hash(query) != sha:
                raise BadUserInput("provided sha does not match query")
            return Resolved(query, register_as=sha)
        document = self._recall(sha) or await self._fetch(sha)
        if document is None:
            raise PersistedQueryError("PersistedQueryNotFound", code=PERSISTED_QUERY_NOT_FOUND)
        return Resolved(document)

    def peek(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document a request runs when that is known without I/O and the request is admissible as
        it is (for the response cache); None when only `resolve` can answer it (misses, registrations,
        refusals)."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return None if self.mode == "allowlist" and query not in self.listed else query
        if self.mode == "off" or not isinstance(persisted, dict) or persisted.get("version") != 1:
            return None
        sha = persisted.get("sha256Hash")
        if not isinstance(sha, str):
            return None
        if self.mode == "allowlist":
            listed = self.allowlist.get(sha)
            return listed if query is None or query == listed else None
        return self._recall(sha) if query is None else None

    async def register(self, sha: str, document: str) -> None:
        """Remember a document that ran under its (checked) hash, here and in Redis."""
        if self.mode != "apq" or len(document) > MAX_DOCUMENT_CHARS:
            return
        self._remember(sha, document)
        if self.redis is None:
            return
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                await self.redis.set(self._key_prefix + sha, document, ex=self._ttl_seconds)
        except Exception as exc:  # a failing Redis costs other instances a miss, never this request
            self._redis_trouble(exc)
        else:
            self._redis_failing = False

    async def _fetch(self, sha: str) -> str | None:
        if self.redis is None or not _SHA256_HEX.fullmatch(sha):
            return None
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                value = await self.redis.get(self._key_prefix + sha)
        except Exception as exc:  # a miss: the client sends the document again
            self._redis_trouble(exc)
            return None
        self._redis_failing = False
        if not isinstance(value, bytes | str):
            return None
        document = value.decode() if isinstance(value, bytes) else value
        self._remember(sha, document)
        return document

    def _recall(self, sha: str) -> str | None:
        document = self._lru.get(sha)
        if document is not None:
            self._lru.move_to_end(sha)
        return document

    def _remember(self, sha: str, document: str) -> None:
        if len(document) > MAX_DOCUMENT_CHARS:
            return
        self._lru[sha] = document
        self._lru.move_to_end(sha)
        while len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)

    def _redis_trouble(self, exc: Exception) -> None:
        if not self._redis_failing:
            logger.warning(
                "persisted queries: Redis did not answer (%s); using this process's documents",
                type(exc).__name__,
            )
        self._redis_failing = True
