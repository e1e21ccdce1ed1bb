"""Benchmark: our GraphQL server vs PostGraphile 4 and 5 on one freshly seeded PostgreSQL database.

    .venv/bin/python bench/run.py [--duration 10] [--concurrency 32] [--workers 1,2] [--peers v4,v5]
                                  [--write-docs]

Creates `mi_bench` (dropped first), migrates and seeds it, starts `mockinterview serve` with production
settings, drives it with wrk from a separate process, counts SQL statements per request through a
protocol-counting proxy, then does the same reads against each PostGraphile (after checking that its
documents return the rows the database says they should) and prints the ratios.
Everything listens on and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import scenarios  # noqa: E402
from bench.load import Result, run_wrk, write_script  # noqa: E402
from bench.pgcount import CountingProxy  # noqa: E402
from bench.procs import Proc, free_port, start_postgraphile, start_postgraphile5, start_server  # noqa: E402
from bench.seed import PASSWORD, seed  # noqa: E402

WORK = ROOT / "bench" / ".work"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "mi_bench"
DSN = f"postgresql://postgres@127.0.0.1:5432/{DB}"
REDIS_URL = "redis://127.0.0.1:6379/0"
VENV_BIN = Path(sys.executable).parent
Body = scenarios.Body


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def recreate_database() -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DB}")
    finally:
        await conn.close()


def mockinterview(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "mockinterview"), *args],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=600,
        check=False,
    )


def server_env(database_url: str, secret: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "TEST_", "PROMETHEUS_"))
    }
    env.update(
        APP_ENV="production",
        SECRET_KEY=secret,
        FILES_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode(),  # production has no default
        DATABASE_URL=database_url,
        LOG_LEVEL="warning",
        # The per-member chat limit (60/min) would turn the sendMessage run into a rate-limiter
        # benchmark; the limiter still runs (and is counted), it just never refuses.
        RATE_LIMIT_MESSAGES_PER_USER="1000000",
        DATA_DIR=str(WORK / "data"),
    )
    if redis_reachable():
        # Production runs with Redis (rate limits and event fan-out shared by workers).
        env.update(REDIS_URL=REDIS_URL, REDIS_PREFIX=f"mibench-{secrets.token_hex(4)}:")
    return env


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


async def login_all(base: str, emails: list[str]) -> list[str]:
    """Access tokens via logIn, paced under the per-IP login limit (30/min)."""
    tokens = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for email in emails:
            r = await client.post("/graphql", json=scenarios.login_body(email, PASSWORD))
            data = r.json()
            if data.get("errors"):
                raise RuntimeError(f"logIn failed for {email}: {data['errors']}")
            tokens.append(data["data"]["logIn"]["accessToken"])
    return tokens


async def check_ledger() -> dict[str, int]:
    conn = await asyncpg.connect(DSN)
    try:
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM users u WHERE u.points_balance <> "
            "coalesce((SELECT sum(amount) FROM points_ledger l WHERE l.user_id = u.id), 0)"
        )
        double = await conn.fetchval(
            "SELECT count(*) FROM (SELECT slot_id FROM interviews WHERE status <> 'CANCELLED' "
            "GROUP BY slot_id HAVING count(*) > 1) d"
        )
        orphan = await conn.fetchval(
            "SELECT count(*) FROM slots s WHERE s.status = 'BOOKED' AND NOT EXISTS "
            "(SELECT 1 FROM interviews i WHERE i.slot_id = s.id AND i.status <> 'CANCELLED')"
        )
        spends = await conn.fetchval("SELECT count(*) FROM points_ledger WHERE kind = 'SPEND'")
        return {
            "users_ledger_mismatch": int(mismatched),
            "slots_double_booked": int(double),
            "booked_slots_without_interview": int(orphan),
            "spend_entries": int(spends),
        }
    finally:
        await conn.close()


async def count_statements(
    proxy: CountingProxy, base: str, bodies: list[dict[str, object]], tokens: list[str], n: int
) -> dict[str, object]:
    """Statements per request (data, transaction control) over `n` sequential requests after warm-up."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def one(i: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"} if tokens else {}
            r = await client.post("/graphql", json=bodies[i % len(bodies)], headers=headers)
            r.raise_for_status()

        for i in range(5):
            await one(i)
        proxy.counts.reset()
        for i in range(n):
            await one(i + 5)  # bodies differing per request stay distinct from the warm-up's
    top = sorted(proxy.counts.texts.items(), key=lambda kv: -kv[1])[:10]
    return {
        "data": proxy.counts.data / n,
        "tx": proxy.counts.tx / n,
        "statements": {text: round(count / n, 2) for text, count in top},
    }


async def measure(
    name: str,
    url: str,
    bodies: list[dict[str, object]],
    tokens: list[str],
    args: argparse.Namespace,
    *,
    paired: bool = False,
) -> Result:
    script = write_script(WORK / f"{name}.lua", bodies, tokens, "/graphql", paired=paired)
    res = await run_wrk(url, script, duration=args.duration, concurrency=args.concurrency)
    res.load1 = round(os.getloadavg()[0], 2)  # other work on the machine skews every figure
    log(
        f"{name}: {res.rps:.0f} req/s p50 {res.p50_ms:.1f} ms p99 {res.p99_ms:.1f} ms "
        f"ok {res.ok} errors {res.graphql_errors} conflicts {res.conflicts} non-200 {res.non_200}"
        + (f"\n    first error: {res.error_sample}" if res.error_sample else "")
    )
    return res


WRITE_RATIO = 0.05


async def board_with_writes(
    key: str,
    base: str,
    tokens: list[str],
    seeded: scenarios.SeedInfo,
    args: argparse.Namespace,
    run: int,
) -> tuple[Result, dict[str, int]]:
    """The board under wrk with 5% createSlot writes, while a checker proves reads are never stale.

    The checker publishes a slot earlier than every other open slot, reads the board anonymously (the
    same document wrk reads, so it is served from the cache whenever the cache has it), expects the slot
    first, withdraws it and expects it gone. Each read follows its write's reply, so a stale cached
    response would show.
    """
    spec = seeded.specialization_id
    now = datetime.now(UTC)
    writes = [
        (
            scenarios.create_slot_body(spec, (now + timedelta(days=30 + 200 * run, hours=i)).isoformat(), 30),
            tokens[i % len(tokens)],
        )
        for i in range(3000)
    ]
    script = write_script(
        WORK / f"{key}_board_mix.lua",
        [scenarios.board_body()],
        [],
        "/graphql",
        writes=writes,
        write_ratio=WRITE_RATIO,
    )
    stop = asyncio.Event()
    checker = asyncio.create_task(board_checker(base, tokens, spec, stop))
    try:
        res = await run_wrk(base + "/graphql", script, duration=args.duration, concurrency=args.concurrency)
    finally:
        stop.set()
        check = await checker
    res.load1 = round(os.getloadavg()[0], 2)
    log(
        f"{key}_board_mix ({WRITE_RATIO:.0%} createSlot): {res.rps:.0f} req/s p50 {res.p50_ms:.1f} ms "
        f"p99 {res.p99_ms:.1f} ms ok {res.ok} errors {res.graphql_errors} conflicts {res.conflicts}; "
        f"checker {check}"
    )
    return res, check


async def board_checker(base: str, tokens: list[str], spec: int, stop: asyncio.Event) -> dict[str, int]:
    counts = {"checks": 0, "stale": 0, "inconclusive": 0, "write_failures": 0}
    t0 = datetime.now(UTC) + timedelta(hours=3)
    board = scenarios.board_body()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def post(body: dict[str, object], token: str | None = None) -> dict[str, object] | None:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            reply = await client.post("/graphql", json=body, headers=headers)
            data = reply.json()
            ok = reply.status_code == 200 and not data.get("errors")
            return data["data"] if ok else None

        async def board_ids() -> tuple[list[str], list[datetime]]:
            data = await post(board)
            assert data is not None, "board read failed"
            nodes = [e["node"] for e in data["openSlots"]["edges"]]  # type: ignore[index]
            return [n["id"] for n in nodes], [datetime.fromisoformat(n["startsAt"]) for n in nodes]

        k = 0
        while not stop.is_set():
            starts = (t0 - timedelta(seconds=40 * k)).replace(microsecond=0)
            token = tokens[k % len(tokens)]
            k += 1
            created = await post(scenarios.create_slot_body(spec, starts.isoformat()), token)
            if created is None:
                counts["write_failures"] += 1
                continue
            slot_id = created["createSlot"]["id"]  # type: ignore[index]
            ids, times = await board_ids()
            counts["checks"] += 1
            if slot_id not in ids:
                full_and_earlier = len(ids) == 20 and all(t < starts for t in times)
                counts["inconclusive" if full_and_earlier else "stale"] += 1
            withdraw: dict[str, object] = {
                "query": "mutation W($id: ID!) { withdrawSlot(id: $id) { id } }",
                "variables": {"id": slot_id},
            }
            if await post(withdraw, token) is None:
                counts["write_failures"] += 1
                continue
            ids, _ = await board_ids()
            counts["checks"] += 1
            if slot_id in ids:
                counts["stale"] += 1
            await asyncio.sleep(0.02)
    return counts


def ours_keyed(scenario: str, seeded: scenarios.SeedInfo, tokens: list[str]) -> tuple[list[Body], list[str]]:
    """Bodies and tokens of a keyed read for ours: chat_history pairs body i with token i (a chat the
    member takes part in); the viewer's ledger and notifications are one body under every token."""
    if scenario == "chat_history":
        return [scenarios.chat_body(iid) for _k, iid in seeded.chats], [tokens[k] for k, _i in seeded.chats]
    body = scenarios.ledger_body() if scenario == "points_ledger" else scenarios.notifications_body()
    return [body], tokens


async def expected_keyed(scenario: str, seeded: scenarios.SeedInfo) -> list[list[int]]:
    """What SQL says a keyed read returns: per chat of `seeded.chats`, or per member of `member_ids`."""
    if scenario == "chat_history":
        return [await scenarios.expected_chat_keys(DSN, iid) for _k, iid in seeded.chats]
    expected = (
        scenarios.expected_ledger_keys
        if scenario == "points_ledger"
        else scenarios.expected_notification_keys
    )
    return [await expected(DSN, uid) for uid in seeded.member_ids]


async def check_ours_rows(base: str, tokens: list[str], seeded: scenarios.SeedInfo, reads: list[str]) -> None:
    """Before measuring the keyed reads: ours returns exactly the rows SQL says (as the peers must)."""
    cases: list[tuple[Body, list[int]]] = []
    case_tokens: list[str] = []
    for scenario in reads:
        expected = await expected_keyed(scenario, seeded)
        bodies, read_tokens = ours_keyed(scenario, seeded, tokens)
        if scenario != "chat_history":  # one body for every token: a case per member, under its token
            bodies = bodies * len(tokens)
        cases += zip(bodies, expected, strict=True)
        case_tokens += read_tokens
    rows = await scenarios.check_rows("ours", base, cases, case_tokens)
    log(f"ours: all {len(cases)} keyed documents return the expected rows ({rows} nodes)")


async def ours(args: argparse.Namespace, sdl: str, seeded: scenarios.SeedInfo, results: dict) -> None:  # type: ignore[type-arg]
    secret = secrets.token_urlsafe(36)[:48]
    has_messages = scenarios.interview_has_messages(sdl)
    send = scenarios.send_message_shape(sdl)
    reads = [scenario for scenario, present in scenarios.has_reads(sdl).items() if present]
    tokens: list[str] = []
    for workers in args.workers:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        async with start_server(ROOT, VENV_BIN, server_env(DSN, secret), port, workers, WORK) as _srv:
            if not tokens:
                tokens = await login_all(base, seeded.emails)
                log(f"logged in {len(tokens)} members")
            key = f"ours_w{workers}"
            r: dict[str, object] = {}
            r["board"] = (
                await measure(f"{key}_board", base + "/graphql", [scenarios.board_body()], [], args)
            ).row()
            # Every request a response-cache miss: what the board costs without the cache.
            misses = [scenarios.board_body(nonce=n) for n in range(20_000)]
            r["board_uncached"] = (
                await measure(f"{key}_board_uncached", base + "/graphql", misses, [], args)
            ).row()
            mix, check = await board_with_writes(key, base, tokens, seeded, args, len(results))
            r["board_mix"] = {**mix.row(), "stale_check": check}
            r["my_interviews"] = (
                await measure(
                    f"{key}_mine", base + "/graphql", [scenarios.mine_body(has_messages)], tokens, args
                )
            ).row()
            if reads:
                await check_ours_rows(base, tokens, seeded, reads)
                for scenario in reads:
                    bodies, read_tokens = ours_keyed(scenario, seeded, tokens)
                    r[scenario] = (
                        await measure(
                            f"{key}_{scenario}",
                            base + "/graphql",
                            bodies,
                            read_tokens,
                            args,
                            paired=scenario == "chat_history",
                        )
                    ).row()
            if send is not None:
                part = seeded.participations[:400]
                bodies = [scenarios.send_body(send, iid) for _k, iid in part]
                r["send_message"] = (
                    await measure(
                        f"{key}_send",
                        base + "/graphql",
                        bodies,
                        [tokens[k] for k, _i in part],
                        args,
                        paired=True,
                    )
                ).row()
            batch = seeded.next_contention_batch(20)
            before = await check_ledger()
            bodies = [scenarios.book_body(sid) for sid in batch]
            book: dict[str, object] = {
                **(await measure(f"{key}_book", base + "/graphql", bodies, tokens, args)).row()
            }
            after = await check_ledger()
            book["contended_slots"] = len(batch)
            book["new_spend_entries"] = after["spend_entries"] - before["spend_entries"]
            book["integrity_after"] = after
            r["book_slot"] = book
            results[key] = r
    # Statement counts: one more single-worker server whose database connections go through the proxy.
    proxy = CountingProxy("127.0.0.1", 5432)
    pport = await proxy.start()
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = server_env(f"postgresql://postgres@127.0.0.1:{pport}/{DB}", secret)
        async with start_server(ROOT, VENV_BIN, env, port, 1, WORK):
            sql: dict[str, object] = {}
            sql["board"] = await count_statements(proxy, base, [scenarios.board_body()], [], 50)
            sql["board_first_5"] = await count_statements(proxy, base, [scenarios.board_body(5)], [], 50)
            misses = [scenarios.board_body(nonce=n) for n in range(60)]
            sql["board_uncached"] = await count_statements(proxy, base, misses, [], 50)
            misses_5 = [scenarios.board_body(5, nonce=n) for n in range(60)]
            sql["board_uncached_first_5"] = await count_statements(proxy, base, misses_5, [], 50)
            sql["my_interviews"] = await count_statements(
                proxy, base, [scenarios.mine_body(has_messages)], tokens, 50
            )
            sql["my_interviews_first_5"] = await count_statements(
                proxy, base, [scenarios.mine_body(has_messages, 5)], tokens, 50
            )
            for scenario in reads:
                bodies, read_tokens = ours_keyed(scenario, seeded, tokens)
                sql[scenario] = await count_statements(proxy, base, bodies, read_tokens, 50)
            if send is not None:
                part = seeded.participations[400:460]
                bodies = [scenarios.send_body(send, iid) for _k, iid in part]
                sql["send_message"] = await count_statements(
                    proxy, base, bodies, [tokens[k] for k, _i in part], 20
                )
            batch = seeded.next_contention_batch(40)
            bodies = [scenarios.book_body(sid) for sid in batch]
            sql["book_slot_mixed"] = await count_statements(proxy, base, bodies, tokens, 30)
            results["ours_sql"] = sql
            log("SQL per request: " + json.dumps({k: (v["data"], v["tx"]) for k, v in sql.items()}))  # type: ignore[index]
    finally:
        await proxy.stop()


async def keyed_bodies(base: str, seeded: scenarios.SeedInfo) -> dict[str, list[Body]]:
    """The keyed reads in this PostGraphile's names (introspected), in the order of `expected_keyed`."""
    names = await scenarios.postgraphile_key_names(base)
    log(f"PostGraphile key-read names: {names}")
    return {
        "chat_history": [scenarios.pg_chat_body(names, iid) for _k, iid in seeded.chats],
        "points_ledger": [scenarios.pg_ledger_body(names, uid) for uid in seeded.member_ids],
        "notifications": [scenarios.pg_notifications_body(names, uid) for uid in seeded.member_ids],
    }


async def v4_bodies(base: str, seeded: scenarios.SeedInfo, with_messages: bool) -> dict[str, list[Body]]:
    names = await scenarios.postgraphile_names(base)
    log(f"PostGraphile 4 schema names: {names}")
    mine = [scenarios.pg_mine_body(names, uid, with_messages) for uid in seeded.member_ids]
    return {
        "board": [scenarios.pg_board_body(names)],
        "my_interviews": mine,
        **await keyed_bodies(base, seeded),
    }


async def v5_bodies(base: str, seeded: scenarios.SeedInfo, with_messages: bool) -> dict[str, list[Body]]:
    mine = [scenarios.pg5_mine_body(uid, with_messages) for uid in seeded.member_ids]
    return {"board": [scenarios.pg5_board_body()], "my_interviews": mine, **await keyed_bodies(base, seeded)}


@dataclass(frozen=True)
class Peer:
    key: str  # where its figures go in the results
    prefix: str  # of its wrk scripts
    start: Callable[[Path, str, int], AbstractAsyncContextManager[Proc]]
    # every read's bodies (board: one; the others in the order of their expected rows)
    bodies: Callable[[str, scenarios.SeedInfo, bool], Awaitable[dict[str, list[Body]]]]


PEERS = {
    "v4": Peer(scenarios.PEERS["v4"], "pg", start_postgraphile, v4_bodies),
    "v5": Peer(scenarios.PEERS["v5"], "pg5", start_postgraphile5, v5_bodies),
}


async def check_peer_rows(
    label: str, base: str, bodies: dict[str, list[Body]], seeded: scenarios.SeedInfo, with_messages: bool
) -> None:
    """Before measuring: every document returns exactly the rows the database says it should."""
    cases = [(bodies["board"][0], await scenarios.expected_board_keys(DSN))]
    for body, user_id in zip(bodies["my_interviews"], seeded.member_ids, strict=True):
        cases.append((body, await scenarios.expected_mine_keys(DSN, user_id, with_messages)))
    for scenario in scenarios.KEYED_READS:
        cases += zip(bodies[scenario], await expected_keyed(scenario, seeded), strict=True)
    rows = await scenarios.check_rows(label, base, cases)
    log(f"{label}: all {len(cases)} documents return the expected rows ({rows} nodes)")


async def postgraphile(
    peer: Peer,
    args: argparse.Namespace,
    seeded: scenarios.SeedInfo,
    with_messages: bool,
    results: dict[str, object],
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with peer.start(WORK, DSN, port) as pg:
        label = f"PostGraphile {pg.version}"
        bodies = await peer.bodies(base, seeded, with_messages)
        await check_peer_rows(label, base, bodies, seeded, with_messages)
        r: dict[str, object] = {}
        for scenario, scenario_bodies in bodies.items():
            script = {"my_interviews": "mine"}.get(scenario, scenario)
            r[scenario] = (
                await measure(f"{peer.prefix}_{script}", base + "/graphql", scenario_bodies, [], args)
            ).row()
        results[peer.key] = r
        results[f"{peer.key}_version"] = pg.version
    proxy = CountingProxy("127.0.0.1", 5432)
    pport = await proxy.start()
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        async with peer.start(WORK, f"postgres://postgres@127.0.0.1:{pport}/{DB}", port):
            sql = {
                scenario: await count_statements(proxy, base, scenario_bodies, [], 50)
                for scenario, scenario_bodies in bodies.items()
            }
            results[f"{peer.key}_sql"] = sql
            log(f"{label} SQL per request: " + json.dumps({k: (v["data"], v["tx"]) for k, v in sql.items()}))
    finally:
        await proxy.stop()


async def prepare(results: dict[str, object]) -> tuple[scenarios.SeedInfo, str]:
    """A fresh `mi_bench`: migrated, demo data and the bench rows; what was seeded and the schema's SDL
    (facts about both go into `results`)."""
    log("recreating database mi_bench")
    await recreate_database()
    env = server_env(DSN, secrets.token_urlsafe(36))
    done = mockinterview("migrate", env=env)
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed: {done.stderr[-2000:]}")
    seed_demo = (ROOT / "app" / "cli" / "seed.py").exists()
    if seed_demo:
        log("mockinterview seed-demo")
        done = mockinterview("seed-demo", env=env)
        results["seed_demo"] = done.returncode == 0
        if done.returncode != 0:
            log(f"seed-demo failed (continuing with bench rows only): {done.stderr[-500:]}")
    else:
        results["seed_demo"] = "absent"
    log("seeding bench rows (COPY)")
    raw = await seed(DSN)
    seeded = scenarios.SeedInfo(raw)
    results["rows"] = await scenarios.row_counts(DSN)
    log(f"rows: {results['rows']}")
    sdl = mockinterview("export-schema", env=env).stdout
    results["schema_has"] = {
        "Interview.messages": scenarios.interview_has_messages(sdl),
        "sendMessage": scenarios.send_message_shape(sdl) is not None,
        **scenarios.has_reads(sdl),
    }
    return seeded, sdl


async def main_async(args: argparse.Namespace) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": scenarios.machine_info(),
        "command": " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]]),
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "python": platform.python_version(),
        "redis": redis_reachable(),
        "load_average_before": os.getloadavg(),
    }
    seeded, sdl = await prepare(results)
    await ours(args, sdl, seeded, results)
    for name in args.peers:
        await postgraphile(PEERS[name], args, seeded, scenarios.interview_has_messages(sdl), results)
    out = WORK / "results.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    table = scenarios.table(results, args.workers)
    print(table)
    if args.write_docs:
        scenarios.write_docs(ROOT / "docs" / "performance.md", results, table)
        log("wrote docs/performance.md results block")
    log(f"results in {out}")
    return 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario (default 10)")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections (default 32)")
    parser.add_argument(
        "--workers", default="1,2", help="comma-separated worker counts to measure (default 1,2)"
    )
    parser.add_argument(
        "--peers", default="v4,v5", help="comma-separated PostGraphile versions to compare (default v4,v5)"
    )
    parser.add_argument("--skip-postgraphile", action="store_true", help="same as --peers ''")
    parser.add_argument("--write-docs", action="store_true", help="replace the results block in docs")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the context managers stop the server and PostGraphile.
    signal.signal(signal.SIGTERM, _interrupt)
    args.workers = [int(w) for w in str(args.workers).split(",") if w]
    args.peers = [] if args.skip_postgraphile else [p for p in str(args.peers).split(",") if p]
    if unknown := set(args.peers) - set(PEERS):
        parser.error(f"--peers: unknown {sorted(unknown)}, choose from {sorted(PEERS)}")
    if not (1 <= args.duration <= 120):
        parser.error("--duration must be 1-120 seconds")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
