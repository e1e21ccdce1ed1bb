"""`mockinterview seed-demo`: realistic demo data, loaded with a few set-based statements.

Idempotent: demo members have emails under `@demo.mockinterview`; when any exist the command leaves the
database as it is and prints what is there (the points ledger is append-only, so demo data is not
replaced in place; use a fresh database for different sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import asyncpg
from argon2 import PasswordHasher, Type

from app.cli import seed_sql as sql
from app.cli import seed_words as words
from app.cli.seed_content import load_content
from app.cli.seed_matching import load_matches
from app.core.settings import Settings, get_settings

DEMO_PASSWORD = "demo-password-123"  # noqa: S105  # documented demo login, demo data only
DEMO_LOGINS = (
    "admin@demo.mockinterview (ADMIN)",
    "moderator@demo.mockinterview (MODERATOR)",
    "member@demo.mockinterview (hosts interviews)",
    "candidate@demo.mockinterview (books interviews)",
)
MIN_MEMBERS = 4


@dataclass(frozen=True)
class SeedSizes:
    members: int
    slots: int
    messages: int

    @property
    def hosts(self) -> int:
        """Members 1..hosts offer slots; the rest book them (at most half host, see seed_sql)."""
        return max(1, min(self.members // 2, self.members * 2 // 5))


def connect_url(database_url: str) -> str:
    """asyncpg wants plain `postgresql://` URLs."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


async def demo_member_count(connection: asyncpg.Connection) -> int:
    """How many demo members exist (0 means no demo data)."""
    count: int = await connection.fetchval(
        "SELECT count(*) FROM users WHERE email LIKE $1", "%" + sql.DEMO_DOMAIN
    )
    return count


async def _load(
    connection: asyncpg.Connection, sizes: SeedSizes, settings: Settings, password_hash: str
) -> None:
    run = connection.execute
    await run(sql.SPECIALIZATIONS, words.SPECIALIZATIONS)
    await run(sql.DEMO_SPECS, words.SPECIALIZATIONS)
    await run(
        sql.USERS,
        sizes.members,
        password_hash,
        words.FIRST_NAMES,
        words.LAST_NAMES,
        words.BIOS,
        words.TIMEZONES,
    )
    await run(sql.DEMO_USERS)
    await run("CREATE INDEX ON demo_users (n)")
    await run(sql.USER_SPECIALIZATIONS)
    await run(sql.PLAN, sizes.slots, sizes.hosts, sizes.members)
    await run(sql.PLAN_STATUSES)
    await run(sql.SLOTS, words.SLOT_TITLES, words.SLOT_DESCRIPTIONS)
    await run(sql.PLAN_SLOT_IDS)
    await run(sql.INTERVIEWS, words.CANCEL_REASONS)
    await run(sql.DEMO_INTERVIEWS)
    await run("CREATE INDEX ON demo_iv (rn)")
    await run(sql.FEEDBACK, words.FEEDBACK_COMMENTS)
    admin_id = await connection.fetchval("SELECT id FROM demo_users WHERE n = 1")
    await run(sql.NO_SHOW_REPORTS, admin_id)
    await run(sql.STRIKES)
    await run(
        sql.LEDGER_EVENTS,
        settings.signup_grant_points,
        settings.booking_cost_points,
        settings.interview_reward_points,
    )
    await run(sql.LEDGER)
    await run(sql.BALANCES)
    await run(sql.MESSAGES, sizes.messages, words.CHAT_LINES)
    await run(sql.NOTIFICATIONS)
    moderator_id = await connection.fetchval("SELECT id FROM demo_users WHERE n = 2")
    await load_content(connection, admin_id, moderator_id)
    await load_matches(connection)


async def seed_demo(database_url: str, sizes: SeedSizes, settings: Settings) -> bool:
    """Load demo data in one transaction; False when demo data was already there."""
    password_hash = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    ).hash(DEMO_PASSWORD)  # hashed once, shared by every demo member
    connection = await asyncpg.connect(connect_url(database_url))
    try:
        async with connection.transaction():
            # Two concurrent runs serialize here; the second then sees the first one's data.
            await connection.execute("SELECT pg_advisory_xact_lock($1)", sql.LOCK_KEY)
            if await demo_member_count(connection):
                return False
            await _load(connection, sizes, settings, password_hash)
        await connection.execute("ANALYZE")
        return True
    finally:
        await connection.close()


SUMMARY = """
SELECT
  (SELECT count(*) FROM users WHERE email LIKE '%@demo.mockinterview') AS members,
  (SELECT count(*) FROM specializations) AS specializations,
  (SELECT count(*) FROM slots) AS slots,
  (SELECT count(*) FROM interviews) AS interviews,
  (SELECT count(*) FROM messages) AS messages,
  (SELECT count(*) FROM notifications) AS notifications,
  (SELECT count(*) FROM feedback) AS feedback,
  (SELECT count(*) FROM no_show_reports) AS no_show_reports,
  (SELECT count(*) FROM points_ledger) AS ledger_entries,
  (SELECT count(*) FROM questions) AS questions,
  (SELECT count(*) FROM rubrics) AS rubrics,
  (SELECT count(*) FROM interview_results) AS interview_results,
  (SELECT count(*) FROM blocks) AS blocks,
  (SELECT count(*) FROM matches) AS matches,
  (SELECT count(*) FROM users u WHERE u.points_balance
     <> (SELECT coalesce(sum(amount), 0) FROM points_ledger l WHERE l.user_id = u.id)) AS unbalanced
"""


async def summary(database_url: str) -> dict[str, object]:
    """Row counts, interviews by status and the number of members whose balance != ledger sum."""
    connection = await asyncpg.connect(connect_url(database_url))
    try:
        row = await connection.fetchrow(SUMMARY)
        by_status = await connection.fetch(
            "SELECT status, count(*) FROM interviews GROUP BY status ORDER BY 1"
        )
    finally:
        await connection.close()
    result: dict[str, object] = dict(row) if row is not None else {}
    result["interviews_by_status"] = {r["status"]: r["count"] for r in by_status}
    return result


def run_seed_demo(database_url: str, args: argparse.Namespace) -> int:
    """CLI entry point: seed (unless demo data exists) and print a short summary."""
    sizes = SeedSizes(members=args.members, slots=args.slots, messages=args.messages)
    if sizes.members < MIN_MEMBERS or sizes.slots < 0 or sizes.messages < 0:
        print(f"--members must be at least {MIN_MEMBERS}; --slots and --messages must not be negative")
        return 2
    started = time.perf_counter()
    created = asyncio.run(seed_demo(database_url, sizes, get_settings()))
    elapsed = time.perf_counter() - started
    counts = asyncio.run(summary(database_url))
    if created:
        print(f"demo data loaded in {elapsed:.1f}s")
    else:
        print("demo data already present; nothing changed (use a fresh database for other sizes)")
    for key, value in counts.items():
        print(f"  {key}: {value}")
    print(f"demo logins (password {DEMO_PASSWORD!r}):")
    for login in DEMO_LOGINS:
        print(f"  {login}")
    return 0 if counts.get("unbalanced") == 0 else 1
