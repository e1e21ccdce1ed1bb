"""Provider documents (OpenID discovery, JWKS) cached per URL for the process.

Every OpenID login used to fetch the discovery document twice and the key set once. Providers serve
them with long cache lifetimes and rotate keys by publishing the new key before using it, so a
cached copy is reused for `DOCUMENT_TTL_SECONDS`, and a token signed by a key the cached set lacks
makes the caller fetch the set again once (`fresh=True`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

DOCUMENT_TTL_SECONDS = 600.0

Document = dict[str, Any]
Fetch = Callable[[str], Awaitable[Document]]


class DocumentCache:
    def __init__(self, ttl_seconds: float = DOCUMENT_TTL_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Document]] = {}

    async def get(self, fetch: Fetch, url: str, *, fresh: bool = False) -> tuple[Document, bool]:
        """The document at `url` and whether it was fetched just now."""
        entry = self._entries.get(url)
        now = time.monotonic()
        if entry is not None and not fresh and now - entry[0] < self._ttl:
            return entry[1], False
        document = await fetch(url)
        self._entries[url] = (now, document)
        return document, True

    def forget(self, url: str) -> None:
        self._entries.pop(url, None)
