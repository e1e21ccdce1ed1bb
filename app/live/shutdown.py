"""Graceful shutdown: close live websockets with 1001 (Going Away) before uvicorn winds down.

uvicorn handles SIGTERM by closing its listening sockets, failing open websockets with 1012 and waiting
for in-flight HTTP requests; the lifespan shutdown runs only after that. To tell websocket clients
"going away" (1001) we chain onto uvicorn's signal handler from the lifespan: on SIGTERM/SIGINT we first
close every tracked websocket with 1001, then hand the signal to uvicorn as if we were not there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import Any

logger = logging.getLogger("mockinterview.shutdown")

GOING_AWAY = 1001
Closer = Callable[[int], Awaitable[None]]


class WebSocketRegistry:
    """The websockets this process is serving, so they can be closed together on shutdown."""

    def __init__(self) -> None:
        self._sockets: dict[int, tuple[Closer, asyncio.Event]] = {}
        self._next = 0
        self.closing = False

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, closer: Closer) -> tuple[int, asyncio.Event]:
        """Track a socket; set the returned event when its handler has finished."""
        self._next += 1
        done = asyncio.Event()
        self._sockets[self._next] = (closer, done)
        return self._next, done

    def discard(self, key: int) -> None:
        entry = self._sockets.pop(key, None)
        if entry is not None:
            entry[1].set()

    async def close_all(self, code: int = GOING_AWAY, wait_seconds: float = 5.0) -> int:
        """Close every tracked socket with `code`; wait up to `wait_seconds` for their handlers to end."""
        self.closing = True
        entries = list(self._sockets.values())
        for closer, _ in entries:
            with contextlib.suppress(Exception):  # a socket that is already gone needs no close frame
                await closer(code)
        if entries:
            done = [asyncio.create_task(event.wait()) for _, event in entries]
            _, pending = await asyncio.wait(done, timeout=wait_seconds)
            for task in pending:
                task.cancel()
            logger.info("closed websockets", extra={"count": len(entries), "code": code})
        return len(entries)


@contextlib.contextmanager
def close_websockets_on_signal(registry: WebSocketRegistry, timeout: float = 5.0) -> Iterator[None]:
    """While active, SIGTERM/SIGINT first close `registry`'s sockets with 1001, then reach uvicorn.

    Does nothing outside the main thread or when no server installed a handler (e.g. in tests that
    drive the app in-process).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(signum)
        if callable(handler) and handler is not signal.default_int_handler:
            previous[int(signum)] = handler
    tasks: set[asyncio.Task[None]] = set()

    def forward(sig: int, frame: FrameType | None) -> None:
        previous[sig](sig, frame)

    async def drain_then_forward(sig: int, frame: FrameType | None) -> None:
        try:
            await registry.close_all(GOING_AWAY, timeout)
        finally:
            forward(sig, frame)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        if registry.closing:  # second signal: no more waiting
            forward(sig, frame)
            return

        def start() -> None:
            task = loop.create_task(drain_then_forward(sig, frame))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        loop.call_soon_threadsafe(start)

    for sig in previous:
        signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, handler)
