"""Real servers on loopback for the delivery tests (an SMTP server that keeps what it receives, an
HTTP receiver that checks webhook signatures), job workers, and waiting for deliveries to settle."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.core import webhook_signing
from app.jobs.worker import JobWorker
from db.models import Delivery
from resolvers.unit_of_work import Services


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Inbox:
    """aiosmtpd handler: every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[str, Inbox]]:
    """A real SMTP server on loopback; its `smtp://` URL and inbox."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        await asyncio.to_thread(controller.stop)


@dataclasses.dataclass
class Receiver:
    """What the webhook receiver saw; `status_for` decides each reply's status."""

    secret: str = ""
    received: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    bad_signatures: int = 0
    status_for: Callable[[int], int] = lambda count: 200
    delay: float = 0.0  # seconds each reply takes

    async def endpoint(self, request: Request) -> Response:
        await asyncio.sleep(self.delay)
        body = await request.body()
        timestamp = int(request.headers[webhook_signing.TIMESTAMP_HEADER])
        signature = request.headers[webhook_signing.SIGNATURE_HEADER]
        if not webhook_signing.verify(self.secret, timestamp, body, signature):
            self.bad_signatures += 1
            return Response(status_code=401)
        self.received.append({"id": request.headers[webhook_signing.ID_HEADER], "body": body})
        return Response(status_code=self.status_for(len(self.received)))


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, Receiver]]:
    """A real HTTP server on loopback that verifies signatures; its URL and what it received."""
    receiver = Receiver()
    port = free_port()
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/hook", receiver
    finally:
        server.should_exit = True
        await task


def worker_services(app_state: Services, engine: AsyncEngine, **settings: Any) -> Services:
    """The app's services with their own committing sessions and changed settings (a worker's)."""
    return dataclasses.replace(
        app_state,
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
        settings=app_state.settings.model_copy(update=settings),
    )


@asynccontextmanager
async def running_workers(services: Services, database_url: str, count: int = 1) -> AsyncIterator[None]:
    workers = [JobWorker(services, database_url, reminders=False) for _ in range(count)]
    await asyncio.gather(*(worker.start() for worker in workers))
    try:
        yield
    finally:
        await asyncio.gather(*(worker.stop() for worker in workers))


async def settled(engine: AsyncEngine, expected: int, *, within: float = 20) -> list[Delivery]:
    """Wait until `expected` deliveries exist and none is PENDING; all deliveries."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with engine.connect() as conn:
            rows = list((await conn.execute(select(Delivery).order_by(Delivery.id))).all())
        if len(rows) >= expected and all(row.status != "PENDING" for row in rows):
            return [Delivery(**row._mapping) for row in rows]
        assert asyncio.get_running_loop().time() < deadline, [tuple(r) for r in rows]
        await asyncio.sleep(0.05)


async def queued_jobs(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count: int = (await conn.execute(text("SELECT count(*) FROM pgqueuer"))).scalar_one()
        return count
