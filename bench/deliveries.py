"""Delivery benchmark: N email notifications through a real SMTP server (aiosmtpd) on loopback, sent by
1, 2 and 4 `mockinterview worker` processes; then a run where one of two workers is SIGKILLed
mid-run. Counts every message the SMTP server accepted by its Message-ID (`<delivery-ID@mockinterview>`):
duplicates (a Message-ID accepted twice) and lost (a delivery never accepted) must both be zero.

    .venv/bin/python bench/deliveries.py [--notifications 10000] [--workers 1,2,4] [--no-kill]
        [--batch-size 10]

Needs a PostgreSQL server (`BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`, else the machine's on
127.0.0.1:5432); creates and drops its own database there. Each run starts from empty tables:
the notifications are stored (with their deliveries and jobs, through `resolvers.notifications.notify`
as the app does) before the workers start, so the run measures sending alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.enums import NotificationKind  # noqa: E402
from app.core.events import create_hub  # noqa: E402
from app.core.passwords import Passwords  # noqa: E402
from app.core.ratelimit import MemoryRateLimiter  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.core.tokens import AccessTokens  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import create_engine, create_sessionmaker  # noqa: E402
from resolvers.notifications import notify  # noqa: E402
from resolvers.unit_of_work import Services, UnitOfWork  # noqa: E402

MESSAGE_ID = re.compile(rb"^Message-ID: <delivery-(\d+)@mockinterview>", re.MULTILINE | re.IGNORECASE)
MEMBERS = 100
BATCH = 500  # notifications per seeding transaction
SECRET = secrets.token_urlsafe(48)  # the workers' SECRET_KEY (signs unsubscribe links)


def log(message: str) -> None:
    print(message, flush=True)


# --- the SMTP sink: its own process, so that receiving does not share the bench's event loop -------


def smtp_sink(port: int, path: str) -> None:
    """Accept every message and append its delivery id to `path` (one line per accepted message)."""
    from aiosmtpd.controller import Controller  # lazy: only the sink process needs it

    out = open(path, "ab", buffering=0)  # noqa: SIM115 (open for the process's lifetime)

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            found = MESSAGE_ID.search(envelope.content)  # type: ignore[attr-defined]
            out.write((found.group(1) if found else b"?") + b"\n")
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


def start_sink(port: int, path: Path) -> subprocess.Popen[bytes]:
    sink = subprocess.Popen([sys.executable, __file__, "--smtp-sink", str(port), str(path)], cwd=ROOT)
    time.sleep(1.0)  # the controller binds at once; one second is plenty on a loaded machine
    return sink


def received(path: Path) -> Counter[int]:
    lines = path.read_bytes().split() if path.exists() else []
    return Counter(int(line) for line in lines if line.isdigit())


# --- the database --------------------------------------------------------------------------------------


def database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path="/" + name))


async def recreate(server: str, name: str, *, drop_only: bool = False) -> None:
    connection = await asyncpg.connect(database_url(server, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def reset(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "TRUNCATE deliveries, notifications, pgqueuer, pgqueuer_log, pgqueuer_statistics, "
            "pgqueuer_schedules RESTART IDENTITY CASCADE"
        )
    finally:
        await connection.close()


async def seed_members(url: str) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "INSERT INTO users (email, display_name) "
            "SELECT 'bench' || i || '@example.com', 'Bench ' || i FROM generate_series(1, $1) AS i "
            "ON CONFLICT (email) DO UPDATE SET display_name = excluded.display_name RETURNING id",
            MEMBERS,
        )
    finally:
        await connection.close()
    return [row["id"] for row in rows]


async def store_notifications(settings: Settings, url: str, members: list[int], count: int) -> float:
    """`count` notifications through the app's own path (deliveries and jobs in each transaction);
    the seconds it took."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    hub = create_hub(None)
    await hub.start()
    services = Services(
        settings=settings,
        sessionmaker=create_sessionmaker(engine),
        passwords=Passwords(settings),
        tokens=AccessTokens(settings),
        rate_limiter=MemoryRateLimiter(),
        hub=hub,
    )
    started = time.monotonic()
    try:
        for first in range(0, count, BATCH):
            uow = UnitOfWork.open(services)
            try:
                async with uow.db.transaction() as session:
                    for i in range(first, min(first + BATCH, count)):
                        payload = {"rating": 5, "interview_id": None, "n": i}
                        await notify(
                            session,
                            members[i % len(members)],
                            NotificationKind.FEEDBACK_RECEIVED,
                            payload,
                            uow,
                        )
            finally:
                await uow.close()
    finally:
        await hub.stop()
        await engine.dispose()
    return time.monotonic() - started


async def progress(url: str) -> tuple[int, int, float | None]:
    """(sent, failed, seconds between the first and the last sent_at)."""
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'SENT') AS sent, "
            "count(*) FILTER (WHERE status = 'FAILED') AS failed, "
            "extract(epoch FROM max(sent_at) - min(sent_at)) AS span FROM deliveries"
        )
    finally:
        await connection.close()
    assert row is not None
    return row["sent"], row["failed"], float(row["span"]) if row["span"] is not None else None


# --- workers -------------------------------------------------------------------------------------------


def start_worker(url: str, smtp_url: str, log_path: Path, batch_size: int) -> subprocess.Popen[bytes]:
    """A worker process; it opens JOBS_BATCH_SIZE + 4 connections to PostgreSQL."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SMTP_URL": smtp_url,
        "SECRET_KEY": SECRET,
        "REDIS_URL": "",
        "REMINDER_SCHEDULER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "JOBS_BATCH_SIZE": str(batch_size),
    }
    with log_path.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli.commands", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Result:
    label: str
    sent: int
    failed: int
    wall_seconds: float
    span_seconds: float
    accepted: int
    duplicates: int
    lost: int

    def line(self) -> str:
        rate = self.sent / self.span_seconds if self.span_seconds else 0.0
        return (
            f"{self.label:<28} sent {self.sent:>6} failed {self.failed} | {rate:7.0f} msg/s "
            f"(first to last send {self.span_seconds:6.1f} s; wall {self.wall_seconds:6.1f} s incl. start) | "
            f"SMTP accepted {self.accepted} duplicates {self.duplicates} lost {self.lost}"
        )


async def wait_settled(url: str, count: int, *, limit_s: float, on_progress: object = None) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        sent, failed, _ = await progress(url)
        if on_progress is not None:
            await on_progress(sent)  # type: ignore[operator]
        if sent + failed >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {sent} sent, {failed} failed of {count}")
        await asyncio.sleep(0.2)


async def one_run(
    args: argparse.Namespace, url: str, members: list[int], workers: int, *, kill: bool
) -> Result:
    """Store the notifications, start the SMTP sink and the workers, wait until every delivery is
    settled (killing one worker a third of the way through when `kill`), count what the sink got."""
    await reset(url)
    port = int(args.smtp_port)
    settings = Settings(database_url=url, smtp_url=f"smtp://127.0.0.1:{port}", secret_key=SECRET)
    seconds = await store_notifications(settings, url, members, args.notifications)
    log(f"  stored {args.notifications} notifications with their deliveries and jobs in {seconds:.1f} s")
    with tempfile.TemporaryDirectory() as directory:
        inbox = Path(directory) / "inbox"
        sink = start_sink(port, inbox)
        started = time.monotonic()
        processes = [
            start_worker(url, settings.smtp_url or "", Path(directory) / f"worker{i}.log", args.batch_size)
            for i in range(workers)
        ]
        killed: list[int] = []

        async def maybe_kill(sent: int) -> None:
            if kill and not killed and sent >= args.notifications // 3:
                processes[0].send_signal(signal.SIGKILL)
                killed.append(sent)
                log(f"  SIGKILL worker 1 (pid {processes[0].pid}) at {sent} sent")

        try:
            await wait_settled(url, args.notifications, limit_s=args.timeout, on_progress=maybe_kill)
            wall = time.monotonic() - started
            await asyncio.sleep(1)  # the sink writes each message as it accepts it; let the last ones land
        finally:
            for process in processes:
                stop(process)
            stop(sink)
        sent, failed, span = await progress(url)
        got = received(inbox)
    connection = await asyncpg.connect(url)
    try:
        ids = {row["id"] for row in await connection.fetch("SELECT id FROM deliveries")}
    finally:
        await connection.close()
    label = f"{workers} worker(s)" + (", one SIGKILLed" if kill else "")
    return Result(
        label=label,
        sent=sent,
        failed=failed,
        wall_seconds=wall,
        span_seconds=span or 0.0,
        accepted=sum(got.values()),
        duplicates=sum(n - 1 for n in got.values() if n > 1),
        lost=len(ids - set(got)),
    )


async def main_async(args: argparse.Namespace) -> int:
    server = args.database_url
    name = f"bench_deliveries_{os.getpid()}"
    await recreate(server, name)
    url = database_url(server, name)
    try:
        await asyncio.to_thread(upgrade, url)
        members = await seed_members(url)
        results = []
        runs = [(int(n), False) for n in args.workers.split(",")] + ([] if args.no_kill else [(2, True)])
        for workers, kill in runs:
            log(f"run: {workers} worker(s){' with a SIGKILL' if kill else ''}")
            result = await one_run(args, url, members, workers, kill=kill)
            log("  " + result.line())
            results.append(result)
    finally:
        await recreate(server, name, drop_only=True)
    log("\nresults")
    for result in results:
        log(result.line())
    return 0 if all(r.duplicates == 0 and r.lost == 0 for r in results) else 1


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--smtp-sink":
        smtp_sink(int(sys.argv[2]), sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_server = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument(
        "--database-url", default=default_server, help="a PostgreSQL server to create the database on"
    )
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4", help="worker process counts, one run each")
    parser.add_argument("--no-kill", action="store_true", help="skip the run with a SIGKILLed worker")
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=10,
        help="JOBS_BATCH_SIZE of each worker (it opens that many + 4 connections)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds one run may take")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
