"""Fan-out benchmark: N websocket subscribers of `openSlotsChanged` on one server instance.

    .venv/bin/python bench/fanout.py --subscribers 5000 --events 20

Starts `mockinterview serve` (embedded PostgreSQL in a temporary data dir unless DATABASE_URL is
set; in-process events unless REDIS_URL is set), opens the subscribers from several client
processes, then publishes slots with `createSlot` (each slot's title carries the send time in ns).
Prints events delivered per second, p50/p99 delivery latency (send of the mutation -> frame received
by the client) and the server's RSS per idle connection. Client processes share the 2 CPUs with the
server, so latencies are an upper bound for what the server alone would do.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]
import websockets

ROOT = Path(__file__).resolve().parent.parent
QUERY = "subscription { openSlotsChanged { kind slot { id title } } }"


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _subscriber(url: str, ready: asyncio.Event, latencies: list[float], events: int) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], compression=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
        ready.set()
        for _ in range(events):
            message = json.loads(await ws.recv())
            received = time.time_ns()
            sent = int(message["payload"]["data"]["openSlotsChanged"]["slot"]["title"].split("=")[1])
            latencies.append((received - sent) / 1e6)


def client_process(url: str, count: int, events: int, pipe: Connection, timeout: float) -> None:
    """Open `count` subscribers, report readiness, then return their latencies (ms) through `pipe`."""
    raise_fd_limit()

    async def main() -> None:
        latencies: list[float] = []
        readies = [asyncio.Event() for _ in range(count)]
        tasks = []
        for start in range(0, count, 100):  # stay under the listen backlog
            for i in range(start, min(start + 100, count)):
                tasks.append(asyncio.create_task(_subscriber(url, readies[i], latencies, events)))
            await asyncio.gather(*(r.wait() for r in readies[start : start + 100]))
        pipe.send(("ready", count))
        pipe.recv()  # "go": events are about to be published
        cpu_at_go = time.process_time()
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        errors = sum(1 for t in done if t.exception() is not None)
        for task in pending:
            task.cancel()
        pipe.send(("done", latencies, errors, len(pending), time.process_time() - cpu_at_go))

    asyncio.run(main())


def start_server(port: int, env: dict[str, str], profile: str | None = None) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "app.cli.commands",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    if profile:
        command[1:1] = ["-m", "cProfile", "-o", profile]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become ready")


def prepare_host(base: str, env: dict[str, str]) -> tuple[str, str]:
    """An admin host (via `mockinterview set-role`) and a specialization; (token, specialization id)."""
    email = f"bench-{secrets.token_hex(4)}@example.com"
    signup = """mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }"""
    variables = {"i": {"email": email, "password": "bench password 1", "displayName": "Bench"}}
    httpx.post(f"{base}/graphql", json={"query": signup, "variables": variables}).raise_for_status()
    subprocess.run(
        [sys.executable, "-m", "app.cli.commands", "set-role", email, "ADMIN"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    login = "mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) { accessToken } }"
    response = httpx.post(
        f"{base}/graphql", json={"query": login, "variables": {"e": email, "p": "bench password 1"}}
    )
    token: str = response.json()["data"]["logIn"]["accessToken"]
    name = f"Bench {secrets.token_hex(3)}"
    create = "mutation($n: String!) { createSpecialization(name: $n) { id } }"

    spec = httpx.post(
        f"{base}/graphql",
        json={"query": create, "variables": {"n": name}},
        headers={"Authorization": f"Bearer {token}"},
    )
    return token, spec.json()["data"]["createSpecialization"]["id"]


def publish_events(base: str, token: str, spec: str, events: int, interval: float) -> list[float]:
    """createSlot `events` times; the mutation round-trip times in ms."""
    mutation = "mutation($i: CreateSlotInput!) { createSlot(input: $i) { id } }"
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    times = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        for n in range(events):
            sent = time.time_ns()
            slot = {
                "specializationId": spec,
                "startsAt": (first + timedelta(hours=3 * n)).isoformat(),
                "durationMinutes": 60,
                "videoLink": "https://meet.example.com/bench",
                "title": f"t={sent}",
            }
            result = http.post("/graphql", json={"query": mutation, "variables": {"i": slot}}).json()
            assert not result.get("errors"), result
            times.append((time.time_ns() - sent) / 1e6)
            time.sleep(interval)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--clients", type=int, default=0, help="client processes (default: 1 per 1,250)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between published events")
    parser.add_argument("--profile", help="run the server under cProfile, writing stats to this file")
    args = parser.parse_args()
    raise_fd_limit()

    data_dir = tempfile.mkdtemp(prefix="mi-fanout-")
    env = {
        "DATA_DIR": data_dir,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FILES_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),  # production has no default
        "LOG_LEVEL": "WARNING",
        "MAX_SUBSCRIPTIONS_PER_CONNECTION": "5",
        "REMINDER_SCHEDULER_ENABLED": "false",
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
    }
    port = free_port()
    server = start_server(port, env, args.profile)
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql"
    try:
        token, spec = prepare_host(base, env)
        server_proc = psutil.Process(server.pid)
        time.sleep(1)
        rss_before = server_proc.memory_info().rss
        clients = args.clients or max(1, -(-args.subscribers // 1250))
        shares = [
            args.subscribers // clients + (1 if i < args.subscribers % clients else 0) for i in range(clients)
        ]
        pipes, processes = [], []
        began = time.monotonic()
        for share in shares:
            parent, child = mp.Pipe()
            timeout = args.events * args.interval + 60
            process = mp.Process(target=client_process, args=(url, share, args.events, child, timeout))
            process.start()
            pipes.append(parent)
            processes.append(process)
        for pipe in pipes:
            assert pipe.recv()[0] == "ready"
        connect_seconds = time.monotonic() - began
        time.sleep(2)  # idle
        rss_idle = server_proc.memory_info().rss
        cpu_before = sum(server_proc.cpu_times()[:2])
        for pipe in pipes:
            pipe.send("go")
        published = time.monotonic()
        mutation_ms = publish_events(base, token, spec, args.events, args.interval)
        latencies: list[float] = []
        errors = unfinished = 0
        clients_cpu = 0.0
        for pipe in pipes:
            _, values, failed, pending, cpu = pipe.recv()
            latencies += values
            errors += failed
            unfinished += pending
            clients_cpu += cpu
        elapsed = time.monotonic() - published
        server_cpu = sum(server_proc.cpu_times()[:2]) - cpu_before
        for process in processes:
            process.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    expected = args.subscribers * args.events
    print()
    print(
        f"fan-out: {args.subscribers} subscribers x {args.events} events, {len(shares)} client processes, "
        f"{os.cpu_count()} CPUs, hub: {'Redis' if env['REDIS_URL'] else 'in-process'}, "
        f"WS_SHARED_FANOUT={os.environ.get('WS_SHARED_FANOUT', 'true')}"
    )
    rows = [
        ("subscribers connected in", f"{connect_seconds:.1f} s"),
        (
            "deliveries / expected",
            f"{len(latencies)} / {expected} (subscriber errors {errors}, unfinished {unfinished})",
        ),
        ("events delivered per second", f"{len(latencies) / elapsed:,.0f} (incl. {args.interval}s pauses)"),
        ("delivery latency p50", f"{percentile(latencies, 0.5):.1f} ms"),
        ("delivery latency p99", f"{percentile(latencies, 0.99):.1f} ms"),
        ("delivery latency max", f"{max(latencies, default=float('nan')):.1f} ms"),
        ("createSlot round trip p50", f"{statistics.median(mutation_ms):.1f} ms"),
        (
            "server CPU per delivery",
            f"{server_cpu / max(1, len(latencies)) * 1e6:.0f} us (clients: "
            f"{clients_cpu / max(1, len(latencies)) * 1e6:.0f} us)",
        ),
        ("server RSS before / idle", f"{rss_before / 2**20:.0f} MiB / {rss_idle / 2**20:.0f} MiB"),
        (
            "server memory per idle connection",
            f"{(rss_idle - rss_before) / max(1, args.subscribers) / 1024:.1f} KiB",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
