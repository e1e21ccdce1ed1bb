"""A counting TCP proxy in front of PostgreSQL: SQL statements a server sends, without touching it.

pg_stat_statements needs `shared_preload_libraries` (a restart of the shared PostgreSQL), so instead
the bench points a second server instance at this proxy and reads the frontend protocol: one
Execute ('E') message per extended-protocol statement, one Query ('Q') per simple-protocol string.
Transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT) is counted apart from data statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
TX_WORDS = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START TRANSACTION", "END")


@dataclass
class Counts:
    data: int = 0
    tx: int = 0
    texts: dict[str, int] = field(default_factory=dict)

    def add(self, sql: str) -> None:
        head = sql.lstrip().upper()
        if head.startswith(TX_WORDS):
            self.tx += 1
        else:
            self.data += 1
        key = " ".join(sql.split())[:120]
        self.texts[key] = self.texts.get(key, 0) + 1

    def reset(self) -> None:
        self.data, self.tx, self.texts = 0, 0, {}


class CountingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.counts = Counts()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        back = asyncio.create_task(self._pipe(up_reader, writer))
        try:
            await self._frontend(reader, up_writer, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            back.cancel()
            up_writer.close()
            writer.close()

    async def _frontend(
        self, reader: asyncio.StreamReader, up: asyncio.StreamWriter, client: asyncio.StreamWriter
    ) -> None:
        # Startup phase: refuse SSL/GSS encryption so the stream stays readable.
        while True:
            head = await reader.readexactly(8)
            length, code = struct.unpack("!ii", head)
            rest = await reader.readexactly(length - 8)
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                client.write(b"N")
                await client.drain()
                continue
            up.write(head + rest)
            await up.drain()
            break
        statements: dict[bytes, str] = {}
        bound = ""
        while True:
            kind = await reader.readexactly(1)
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            if kind == b"Q":
                self.counts.add(body.rstrip(b"\0").decode(errors="replace"))
            elif kind == b"P":
                name, _, rest = body.partition(b"\0")
                statements[name] = rest.partition(b"\0")[0].decode(errors="replace")
            elif kind == b"B":
                _portal, _, rest = body.partition(b"\0")
                bound = statements.get(rest.partition(b"\0")[0], "")
            elif kind == b"E":
                self.counts.add(bound)
            up.write(kind + struct.pack("!i", length) + body)
            await up.drain()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
