"""`mockinterview seed-demo`: consistent, idempotent demo data whose ledgers balance."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from db.migrate import upgrade
from tests import infra

SIZES = ["--members", "60", "--slots", "200", "--messages", "500"]

CHECKS = {
    "members": "SELECT count(*) FROM users WHERE email LIKE '%@demo.mockinterview'",
    "slots": "SELECT count(*) FROM slots",
    "messages": "SELECT count(*) FROM messages",
    "interviews": "SELECT count(*) FROM interviews",
    "ledger_entries": "SELECT count(*) FROM points_ledger",
    "balance_total": "SELECT sum(points_balance) FROM users",
    # every balance is the sum of its ledger
    "unbalanced": """SELECT count(*) FROM users u WHERE u.points_balance
                     <> (SELECT coalesce(sum(amount), 0) FROM points_ledger l WHERE l.user_id = u.id)""",
    # balance_after is the running sum in ledger order and never negative
    "bad_running_balance": """SELECT count(*) FROM (SELECT balance_after,
        sum(amount) OVER (PARTITION BY user_id ORDER BY id) AS running FROM points_ledger) x
        WHERE balance_after <> running OR balance_after < 0""",
    "bad_slot_ends": """SELECT count(*) FROM slots
        WHERE ends_at <> starts_at + make_interval(mins => duration_minutes)""",
    "completed_without_feedback": """SELECT count(*) FROM interviews i WHERE status = 'COMPLETED'
        AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.interview_id = i.id)""",
    "no_show_without_report": """SELECT count(*) FROM interviews i WHERE status = 'NO_SHOW'
        AND NOT EXISTS (SELECT 1 FROM no_show_reports r WHERE r.interview_id = i.id)""",
    "future_open_slots": "SELECT count(*) FROM slots WHERE status = 'OPEN' AND starts_at > now()",
    "notifications": "SELECT count(*) FROM notifications",
    "staff": "SELECT count(*) FROM users WHERE role IN ('ADMIN', 'MODERATOR')",
    "questions": "SELECT count(*) FROM questions",
    "results": "SELECT count(*) FROM interview_results",
    # every result scores every criterion of its rubric, and only completed interviews have one
    "bad_results": """SELECT count(*) FROM interview_results r JOIN interviews i ON i.id = r.interview_id
        WHERE i.status <> 'COMPLETED' OR (SELECT count(*) FROM criterion_scores s WHERE s.result_id = r.id)
        <> (SELECT count(*) FROM rubric_criteria c WHERE c.rubric_id = r.rubric_id)""",
    "block_history": "SELECT count(*) FROM blocks",
    "matches": "SELECT count(*) FROM matches",
    # every match came from two MATCHED tickets of its interview's two participants
    "bad_matches": """SELECT count(*) FROM matches m JOIN interviews i ON i.id = m.first_interview_id
        WHERE (SELECT array_agg(t.user_id ORDER BY t.user_id) FROM match_tickets t
               WHERE t.match_id = m.id AND t.status = 'MATCHED')
              <> ARRAY[least(i.interviewer_id, i.candidate_id),
                       greatest(i.interviewer_id, i.candidate_id)]""",
}


@pytest.fixture
def seed_database(postgres_server: str) -> Iterator[str]:
    name = infra.fresh_database_name() + "_seed"
    url = asyncio.run(infra.create_database(postgres_server, name))
    upgrade(url)
    yield url
    asyncio.run(infra.drop_database(postgres_server, name))


def seed(url: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.commands", "seed-demo", *SIZES],
        env={**os.environ, "DATABASE_URL": url, "APP_ENV": "development"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def snapshot(url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(url)
    try:
        values = {key: await connection.fetchval(query) for key, query in CHECKS.items()}
        rows = await connection.fetch("SELECT status, count(*) FROM interviews GROUP BY status")
        values["by_status"] = {row["status"]: row["count"] for row in rows}
        return values
    finally:
        await connection.close()


@pytest.mark.slow
def test_seed_demo_twice_gives_consistent_balanced_data(seed_database: str) -> None:
    first_output = seed(seed_database)
    assert "demo data loaded" in first_output
    first = asyncio.run(snapshot(seed_database))
    second_output = seed(seed_database)
    assert "already present" in second_output
    second = asyncio.run(snapshot(seed_database))
    assert first == second
    assert first["members"] == 60
    assert first["slots"] == 200
    assert first["messages"] == 500
    assert first["unbalanced"] == 0
    assert first["bad_running_balance"] == 0
    assert first["bad_slot_ends"] == 0
    assert first["no_show_without_report"] == 0
    assert first["future_open_slots"] > 0
    assert first["notifications"] > 0
    assert first["staff"] >= 2
    assert set(first["by_status"]) == {"SCHEDULED", "IN_PROGRESS", "COMPLETED", "CANCELLED", "NO_SHOW"}
    assert first["completed_without_feedback"] < first["by_status"]["COMPLETED"]
    assert first["questions"] > 0
    assert 0 < first["results"] <= first["by_status"]["COMPLETED"]
    assert first["bad_results"] == 0
    assert first["block_history"] == 1
    assert first["matches"] > 0
    assert first["bad_matches"] == 0
    assert "admin@demo.mockinterview" in first_output


async def test_demo_login_works(seed_database: str) -> None:
    """The documented demo password logs in through the real schema."""
    await asyncio.to_thread(seed, seed_database)
    import httpx

    from app.cli.seed import DEMO_PASSWORD
    from app.http.factory import create_app
    from tests.conftest import make_settings

    application = create_app(make_settings(seed_database, None))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post(
                "/graphql",
                json={
                    "query": "mutation DemoLogIn($input: LogInInput!) { logIn(input: $input) "
                    "{ accessToken user { role } } }",
                    "variables": {"input": {"email": "admin@demo.mockinterview", "password": DEMO_PASSWORD}},
                },
            )
            assert response.status_code == 200, response.text
            payload = response.json()["data"]["logIn"]
            me = await http.post(
                "/graphql",
                json={"query": "{ me { role points } }"},
                headers={"Authorization": f"Bearer {payload['accessToken']}"},
            )
    assert payload["user"]["role"] == "ADMIN"
    assert me.json()["data"]["me"]["role"] == "ADMIN"
    assert me.json()["data"]["me"]["points"] >= 1
