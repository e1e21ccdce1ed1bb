"""Bench rows added with bulk COPY: members with a known password, open slots, interviews, messages,
and for the logged-in members long chats, ledger histories and notifications.

Additive: it runs after `mockinterview seed-demo` when that command exists and only touches rows it
creates (its own members, so the per-host and per-candidate overlap constraints cannot collide).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from argon2 import PasswordHasher, Type

PASSWORD = "bench-password-123"  # noqa: S105 (throwaway bench accounts on a throwaway database)
START_POINTS = 100
LEDGER_STEP = 10  # points of each seeded REWARD / PENALTY pair (the balance stays START_POINTS)
NOTIFICATION_KINDS = ("BOOKED", "BOOKING_CONFIRMED", "REMINDER", "FEEDBACK_RECEIVED")


@dataclass
class Seeded:
    member_ids: list[int] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    contention_slot_ids: list[int] = field(default_factory=list)
    interview_ids: list[int] = field(default_factory=list)
    # (index into member_ids/emails of the candidate, interview id): who may write in which chat
    participations: list[tuple[int, int]] = field(default_factory=list)
    # (index into member_ids/emails of a participant, interview id) of the long chats, both participants
    chats: list[tuple[int, int]] = field(default_factory=list)
    specialization_id: int = 0


def _password_hash() -> str:
    # Same parameters as the server's settings defaults (argon2id, m=19 MiB, t=2, p=1).
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID).hash(PASSWORD)


async def _specialization(conn: asyncpg.Connection) -> int:
    existing = await conn.fetchval("SELECT id FROM specializations ORDER BY id LIMIT 1")
    if existing is not None:
        return int(existing)
    return int(await conn.fetchval("INSERT INTO specializations (name) VALUES ('Backend') RETURNING id"))


async def seed(
    dsn: str,
    *,
    members: int = 200,
    logins: int = 24,
    open_slots: int = 3000,
    interviews: int = 2000,
    messages_per_interview: int = 8,
    contention_slots: int = 400,
    chat_messages: int = 60,
    ledger_pairs: int = 12,
    notifications: int = 30,
) -> Seeded:
    """Insert the bench rows; the first `logins` members take part in all interviews.

    Then, for the logged-in members only (rows the earlier scenarios never read): one long chat per
    member as candidate (`chat_messages` messages, interviews older than all others, so no
    myInterviews page shows them), `ledger_pairs` REWARD +10 / PENALTY -10 pairs after the GRANT (the
    balance ends where it was), and `notifications` notifications, the newest third unread.
    """
    out = Seeded()
    now = datetime.now(UTC).replace(microsecond=0)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            spec = await _specialization(conn)
            out.specialization_id = spec
            first_id = int(await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM users"))
            pw = _password_hash()
            users = [
                (f"bench-{i}@example.com", pw, f"Bench Member {i}", START_POINTS, True)
                for i in range(members)
            ]
            await conn.copy_records_to_table(
                "users",
                records=users,
                columns=["email", "password_hash", "display_name", "points_balance", "email_verified"],
            )
            ids = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM users WHERE email LIKE 'bench-%@example.com' AND id >= $1 ORDER BY id",
                    first_id,
                )
            ]
            out.member_ids = ids[:logins]
            out.emails = [f"bench-{i}@example.com" for i in range(logins)]
            await conn.copy_records_to_table(
                "points_ledger",
                records=[(uid, START_POINTS, "GRANT", "bench seed", START_POINTS) for uid in ids],
                columns=["user_id", "amount", "kind", "reason", "balance_after"],
            )
            await conn.copy_records_to_table(
                "user_specializations",
                records=[(uid, spec) for uid in ids],
                columns=["user_id", "specialization_id"],
            )
            # Open future slots; hosts are the members that never log in, two hours apart per host.
            hosts = ids[logins:]
            slot_rows = []
            for n in range(open_slots + contention_slots):
                host = hosts[n % len(hosts)]
                if n < open_slots:
                    starts = now + timedelta(days=1, hours=n // len(hosts) * 2, minutes=(n % 60))
                else:  # contention slots: each at its own time, so only the slot itself is contended
                    starts = now + timedelta(days=90, hours=2 * (n - open_slots))
                slot_rows.append(
                    (
                        host,
                        spec,
                        starts,
                        starts + timedelta(minutes=60),
                        60,
                        "https://meet.example.com/x",
                        "OPEN",
                    )
                )
            await conn.copy_records_to_table(
                "slots",
                records=slot_rows,
                columns=[
                    "host_id",
                    "specialization_id",
                    "starts_at",
                    "ends_at",
                    "duration_minutes",
                    "video_link",
                    "status",
                ],
            )
            # The latest-starting open slots are the contention set (the board shows the soonest).
            out.contention_slot_ids = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM slots WHERE host_id = ANY($1::bigint[]) ORDER BY starts_at DESC, id DESC"
                    " LIMIT $2",
                    hosts,
                    contention_slots,
                )
            ]
            # Past interviews among the logged-in members, every one at its own time (no overlaps).
            pairs = []
            login_ids = out.member_ids
            for n in range(interviews):
                host = login_ids[n % len(login_ids)]
                cand = login_ids[(n * 7 + 3) % len(login_ids)]
                if cand == host:
                    cand = login_ids[(n + 1) % len(login_ids)]
                starts = now - timedelta(hours=2 * (n + 1))
                pairs.append((host, cand, starts))
            await conn.copy_records_to_table(
                "slots",
                records=[
                    (h, spec, s, s + timedelta(minutes=60), 60, "https://meet.example.com/p", "BOOKED")
                    for h, _c, s in pairs
                ],
                columns=[
                    "host_id",
                    "specialization_id",
                    "starts_at",
                    "ends_at",
                    "duration_minutes",
                    "video_link",
                    "status",
                ],
            )
            booked = await conn.fetch(
                "SELECT id, host_id, starts_at FROM slots"
                " WHERE status = 'BOOKED' AND host_id = ANY($1::bigint[])"
                " ORDER BY starts_at DESC",
                login_ids,
            )
            cand_by_key = {(h, s): c for h, c, s in pairs}
            await conn.copy_records_to_table(
                "interviews",
                records=[
                    (
                        r["id"],
                        r["host_id"],
                        cand_by_key[(r["host_id"], r["starts_at"])],
                        spec,
                        "COMPLETED",
                        r["starts_at"],
                        r["starts_at"] + timedelta(minutes=60),
                        now,
                    )
                    for r in booked
                ],
                columns=[
                    "slot_id",
                    "interviewer_id",
                    "candidate_id",
                    "specialization_id",
                    "status",
                    "starts_at",
                    "ends_at",
                    "updated_at",
                ],
            )
            rows = await conn.fetch(
                "SELECT id, interviewer_id, candidate_id FROM interviews"
                " WHERE candidate_id = ANY($1::bigint[])"
                " ORDER BY id",
                login_ids,
            )
            out.interview_ids = [r["id"] for r in rows]
            index = {uid: k for k, uid in enumerate(login_ids)}
            out.participations = [(index[r["candidate_id"]], r["id"]) for r in rows]
            msgs = []
            for r in rows:
                for k in range(messages_per_interview):
                    author = r["interviewer_id"] if k % 2 == 0 else r["candidate_id"]
                    msgs.append((r["id"], author, f"Bench message {k} about the interview, with some text."))
            await conn.copy_records_to_table(
                "messages", records=msgs, columns=["interview_id", "author_id", "body"]
            )
            out.chats = await _long_chats(
                conn, login_ids, spec, now - timedelta(hours=2 * interviews), chat_messages
            )
            await _ledger_history(conn, login_ids, ledger_pairs)
            await _notifications(conn, login_ids, now, notifications)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return out


async def _long_chats(
    conn: asyncpg.Connection, login_ids: list[int], spec: int, before: datetime, messages: int
) -> list[tuple[int, int]]:
    """One completed interview per logged-in member as candidate, earlier than `before`, with
    `messages` messages; returns (member index, interview id) for both participants of each."""
    chats: list[tuple[int, int]] = []
    msgs = []
    for k, cand in enumerate(login_ids):
        host_index = (k + 1) % len(login_ids)
        host = login_ids[host_index]
        starts = before - timedelta(hours=2 * (k + 1))
        slot_id = await conn.fetchval(
            "INSERT INTO slots (host_id, specialization_id, starts_at, ends_at, duration_minutes, video_link,"
            " status) VALUES ($1, $2, $3, $4, 60, 'https://meet.example.com/c', 'BOOKED') RETURNING id",
            host,
            spec,
            starts,
            starts + timedelta(minutes=60),
        )
        interview_id = int(
            await conn.fetchval(
                "INSERT INTO interviews (slot_id, interviewer_id, candidate_id, specialization_id, status,"
                " starts_at, ends_at) VALUES ($1, $2, $3, $4, 'COMPLETED', $5, $6) RETURNING id",
                slot_id,
                host,
                cand,
                spec,
                starts,
                starts + timedelta(minutes=60),
            )
        )
        chats += [(k, interview_id), (host_index, interview_id)]
        for n in range(messages):
            author = host if n % 2 == 0 else cand
            msgs.append((interview_id, author, f"Long chat message {n}: a question, an answer, a follow-up."))
    await conn.copy_records_to_table("messages", records=msgs, columns=["interview_id", "author_id", "body"])
    return chats


async def _ledger_history(conn: asyncpg.Connection, login_ids: list[int], pairs: int) -> None:
    """After each member's GRANT: `pairs` times a REWARD for an interview they hosted and a PENALTY for
    one they took as candidate, so `points_balance` (START_POINTS) still equals the ledger's sum."""
    entries = []
    for uid in login_ids:
        hosted = await conn.fetch(
            "SELECT id FROM interviews WHERE interviewer_id = $1 ORDER BY starts_at LIMIT $2", uid, pairs
        )
        taken = await conn.fetch(
            "SELECT id FROM interviews WHERE candidate_id = $1 ORDER BY starts_at LIMIT $2", uid, pairs
        )
        assert len(hosted) == len(taken) == pairs, "too few bench interviews for the ledger history"
        for h, t in zip(hosted, taken, strict=True):
            entries.append(
                (uid, LEDGER_STEP, "REWARD", "Hosted an interview", h["id"], START_POINTS + LEDGER_STEP)
            )
            entries.append((uid, -LEDGER_STEP, "PENALTY", "Late to an interview", t["id"], START_POINTS))
    await conn.copy_records_to_table(
        "points_ledger",
        records=entries,
        columns=["user_id", "amount", "kind", "reason", "interview_id", "balance_after"],
    )


async def _notifications(conn: asyncpg.Connection, login_ids: list[int], now: datetime, count: int) -> None:
    """`count` notifications per logged-in member, one an hour up to now (ids in time order), each
    naming one of their interviews; all but the newest third read."""
    interviews = {
        r["candidate_id"]: (r["id"], r["starts_at"])
        for r in await conn.fetch(
            "SELECT DISTINCT ON (candidate_id) candidate_id, id, starts_at FROM interviews"
            " WHERE candidate_id = ANY($1::bigint[]) ORDER BY candidate_id, starts_at DESC",
            login_ids,
        )
    }
    rows = []
    for n in range(count):
        at = now - timedelta(hours=count - n)
        read_at = at + timedelta(minutes=30) if n < count - count // 3 else None
        for uid in login_ids:
            interview_id, starts_at = interviews[uid]
            payload = json.dumps({"interview_id": interview_id, "starts_at": starts_at.isoformat()})
            rows.append((uid, NOTIFICATION_KINDS[n % len(NOTIFICATION_KINDS)], payload, read_at, at))
    await conn.copy_records_to_table(
        "notifications", records=rows, columns=["user_id", "kind", "payload", "read_at", "created_at"]
    )
