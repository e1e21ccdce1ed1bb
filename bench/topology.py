"""Sizing figures of the reference topology (deploy/compose.yaml), measured on this machine.

    .venv/bin/python bench/topology.py [--duration 10] [--concurrency 16]

Starts the topology's parts as local processes, as tests/scaleout/test_reference_topology.py does
(tests/scaleout/topology.py: PostgreSQL 15 primary and streaming standby, TLS only; Redis primary,
replica and three sentinels; the worker; `serve` over HTTPS with the compose file's environment),
adds bench rows (bench/seed.py), and for 1 and 2 instances drives, over HTTPS, for `--duration`
seconds each:

- `board`: the anonymous `openSlots` page (the response cache on, as in production);
- `mine`: a signed-in `myInterviews` page, read from the replica (the file's DATABASE_REPLICA_URLS)
  and, in a second run, with DATABASE_REPLICA_URLS=[] (the primary only);
- `send`: `sendMessage` by the chats' members.

The load is an asyncio/httpx loop in this process (wrk is not installed here): `--concurrency`
requests in flight, spread evenly over the instances. Printed per run: req/s, p50/p99, errors,
transactions on the primary and on the replica, and this process's share of the CPU; per setup: RSS
of each instance, the app's connections to each PostgreSQL server, Redis memory and clients.

Bench-only settings beside the file's: RATE_LIMIT_LOGIN_PER_IP (24 logins from one address) and
RATE_LIMIT_MESSAGES_PER_USER (else `send` measures the chat limit), as bench/run.py does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scenarios  # noqa: E402
from bench.seed import PASSWORD, seed  # noqa: E402
from tests.scaleout.topology import Topology, local_topology  # noqa: E402
from tests.tls.servers import client_context  # noqa: E402

BENCH_SETTINGS = {
    "RATE_LIMIT_LOGIN_PER_IP": "1000",
    "RATE_LIMIT_MESSAGES_PER_USER": "1000000",
    "LOG_LEVEL": "warning",
}
HEADER = "| scenario | instances | req/s | p50 ms | p99 ms | errors | tx primary | tx replica | client CPU |"
Body = dict[str, object]


def log(message: str) -> None:
    print(f"[topology {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Work:
    """What one request sends: a body and, for signed-in work, a token."""

    body: Body
    token: str | None = None


@dataclass
class Figures:
    name: str
    instances: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    primary_transactions: int
    replica_transactions: int
    client_cpu: float  # cores this process (the load generator) used on average

    def row(self) -> str:
        return (
            f"| {self.name} | {self.instances} | {self.rps:.0f} | {self.p50_ms:.1f} | {self.p99_ms:.1f} "
            f"| {self.errors} | {self.primary_transactions} | {self.replica_transactions} "
            f"| {self.client_cpu:.2f} |"
        )


async def _transactions(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        value = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'mi'"
        )
        return int(value)
    finally:
        await connection.close()


async def _one(client: httpx.AsyncClient, work: Work) -> bool:
    headers = {"Authorization": f"Bearer {work.token}"} if work.token else {}
    response = await client.post("/graphql", json=work.body, headers=headers)
    return response.status_code == 200 and "errors" not in response.json()


async def drive(
    topology: Topology, bases: list[str], name: str, works: list[Work], duration: float, concurrency: int
) -> Figures:
    """`concurrency` loops, each on one instance (in turn), sending `works` in turn until `duration`."""
    primary = topology.admin_url(topology.pair.primary)
    replica = topology.admin_url(topology.pair.standby)
    verify = client_context(topology.ca.cert_path)
    per_instance = max(1, concurrency // len(bases))
    limits = httpx.Limits(max_connections=per_instance, max_keepalive_connections=per_instance)
    clients = [httpx.AsyncClient(base_url=base, verify=verify, timeout=30, limits=limits) for base in bases]
    latencies: list[float] = []
    errors = 0
    turn = itertools.count()
    async with contextlib.AsyncExitStack() as stack:
        for client in clients:
            await stack.enter_async_context(client)
        for client in clients:  # connections and TLS sessions made before the clock starts
            await asyncio.gather(*(_one(client, works[0]) for _ in range(per_instance)))
        before = (await _transactions(primary), await _transactions(replica))
        cpu_before, started = time.process_time(), time.monotonic()
        deadline = started + duration

        async def loop(client: httpx.AsyncClient) -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                work = works[next(turn) % len(works)]
                sent = time.perf_counter()
                try:
                    ok = await _one(client, work)
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - sent)
                errors += not ok

        await asyncio.gather(*(loop(clients[i % len(clients)]) for i in range(per_instance * len(clients))))
        elapsed = time.monotonic() - started
        cpu = (time.process_time() - cpu_before) / elapsed
        after = (await _transactions(primary), await _transactions(replica))
    cuts = statistics.quantiles(latencies, n=100)
    figures = Figures(
        name,
        len(bases),
        len(latencies),
        errors,
        len(latencies) / elapsed,
        cuts[49] * 1000,
        cuts[98] * 1000,
        after[0] - before[0],
        after[1] - before[1],
        cpu,
    )
    log(figures.row())
    return figures


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise LookupError(name)


async def footprint(topology: Topology, bases: list[str]) -> dict[str, Any]:
    """RSS of each instance, the app's connections to each server, Redis memory and clients."""
    token = topology.variables["METRICS_TOKEN"]
    verify = client_context(topology.ca.cert_path)
    rss = []
    async with httpx.AsyncClient(verify=verify, headers={"Authorization": f"Bearer {token}"}) as client:
        for base in bases:
            text = (await client.get(f"{base}/metrics")).text
            rss.append(round(_metric(text, "process_resident_memory_bytes") / 2**20))
    connections = {}
    count = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'"
    for role, node in (("primary", topology.pair.primary), ("replica", topology.pair.standby)):
        connection = await asyncpg.connect(topology.admin_url(node))
        try:
            connections[role] = int(await connection.fetchval(count))
        finally:
            await connection.close()
    redis = topology.redis_primary()
    return {
        "rss_mib": rss,
        "connections": connections,
        "redis_memory": redis.info("memory")["used_memory_human"],
        # The replica's link and the three sentinels' (two each) are among them.
        "redis_clients": redis.info("clients")["connected_clients"],
    }


@contextlib.contextmanager
def instances(topology: Topology, count: int, **overrides: str) -> Iterator[list[str]]:
    with ExitStack() as stack:
        names = ["api-1", "api-2"][:count]
        yield [stack.enter_context(topology.serving(name, **BENCH_SETTINGS, **overrides)) for name in names]


async def log_in(base: str, topology: Topology, emails: list[str]) -> list[str]:
    verify = client_context(topology.ca.cert_path)
    tokens = []
    async with httpx.AsyncClient(base_url=base, verify=verify, timeout=30) as client:
        for email in emails:
            reply = (await client.post("/graphql", json=scenarios.login_body(email, PASSWORD))).json()
            tokens.append(reply["data"]["logIn"]["accessToken"])
    return tokens


async def measure(topology: Topology, args: argparse.Namespace) -> None:
    migrated = topology.run("migrate")
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stderr)
    seeded = await seed(topology.admin_url(topology.pair.primary))
    sdl = (ROOT / "schema.graphql").read_text()
    shape = scenarios.send_message_shape(sdl)
    assert shape is not None
    results: list[Figures] = []
    footprints: dict[str, dict[str, Any]] = {}
    with topology.working("worker"):
        footprints["worker only"] = await footprint(topology, [])
        with instances(topology, 1) as bases:
            tokens = await log_in(bases[0], topology, seeded.emails)
        # Readers and writers are different members: a member who wrote reads from the primary for 30 s.
        readers = [Work(scenarios.mine_body(False), token) for token in tokens[0::2]]
        writers = [
            Work(scenarios.send_body(shape, interview), tokens[index])
            for index, interview in seeded.participations
            if index % 2 == 1
        ]
        # `board` runs first, so by `mine` the tokens are older than the max lag: young ones read the primary.
        board = [Work(scenarios.board_body())]
        for count in (1, 2):
            with instances(topology, count) as bases:
                for name, works in (("board", board), ("mine (replica)", readers), ("send", writers)):
                    results.append(await drive(topology, bases, name, works, args.duration, args.concurrency))
                footprints[f"{count} instance(s)"] = await footprint(topology, bases)
            with instances(topology, count, DATABASE_REPLICA_URLS="[]") as bases:
                results.append(
                    await drive(topology, bases, "mine (primary)", readers, args.duration, args.concurrency)
                )
    print("\n" + HEADER)
    print("|---|---|---|---|---|---|---|---|---|")
    for figures in results:
        print(figures.row())
    print()
    for setup, figures_of in footprints.items():
        print(f"{setup}: {figures_of}")
    print(f"\nmachine: {scenarios.machine_info()}, load1 {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    # Other work on the machine skews every figure: say how busy it was before we started.
    log(f"load average before starting: {os.getloadavg()[0]:.2f}")
    with local_topology() as topology:
        log("topology up")
        asyncio.run(measure(topology, args))


if __name__ == "__main__":
    main()
