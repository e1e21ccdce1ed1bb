"""The real `mockinterview serve` process on its embedded default, over a real socket."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli.commands import default_public_base_url, listen_url
from app.core.settings import Settings, get_settings
from app.ops.logging_setup import logging_config
from db.migrate import upgrade
from tests import infra
from tests.process import ROOT, free_port, running_server

ROUND_TRIP_SIGN_UP = """mutation { signUp(input: {email: "round@example.com", password: "a long password",
  displayName: "Round Trip"}) { accessToken refreshToken user { id } } }"""
LOG_IN = """mutation { logIn(input: {email: "round@example.com", password: "a long password"}) {
  accessToken refreshToken } }"""


def _gql(
    base: str, query: str, variables: dict[str, str] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


def _postgres_processes(data_dir: Path) -> list[str]:
    result = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if "postgres" in line and str(data_dir) in line]


@pytest.mark.slow
def test_embedded_default_round_trip_and_clean_shutdown(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": "", "SECRET_KEY": ""}
    with running_server(env) as base:
        signed_up = _gql(base, ROUND_TRIP_SIGN_UP)["signUp"]
        logged_in = _gql(base, LOG_IN)["logIn"]
        me = _gql(base, "{ me { id email } }", token=logged_in["accessToken"])["me"]
        assert me == {"id": signed_up["user"]["id"], "email": "round@example.com"}
        refresh = "mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken refreshToken } }"
        rotated = _gql(base, refresh, {"t": logged_in["refreshToken"]})["refreshTokens"]
        logout = "mutation($t: String!) { logOut(refreshToken: $t) }"
        assert _gql(base, logout, {"t": rotated["refreshToken"]})["logOut"] is True
        page = httpx.get(f"{base}/graphql", headers={"accept": "text/html"}, timeout=10)
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        assert (data_dir / "secret_key").exists()
        # A second command in the same data dir shares the embedded database while serve runs.
        promoted = subprocess.run(
            [sys.executable, "-m", "app.cli.commands", "set-role", "round@example.com", "ADMIN"],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        # logged_in's session was logged out above (its access token with it): ask with signUp's.
        role = _gql(base, "{ me { role } }", token=signed_up["accessToken"])["me"]["role"]
        assert role == "ADMIN"
        assert _postgres_processes(data_dir)
    # The data survives a restart, and no postgres is left behind after each stop.
    assert not _postgres_processes(data_dir)
    with running_server(env) as base:
        logged_in = _gql(base, LOG_IN)["logIn"]
        assert logged_in["accessToken"]
    assert not _postgres_processes(data_dir)


# --- a newcomer's first run: README's first steps, the console, links -------------------------------


def readme_first_steps() -> list[tuple[str, str]]:
    """The code blocks of README.md's "First steps" section, in order: (language, text)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### First steps", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(graphql|bash)\n(.*?)```", section, re.DOTALL)


def run_command(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A README command line (`.venv/bin/mockinterview ...`) run with this interpreter."""
    program, *arguments = shlex.split(line)
    assert program == ".venv/bin/mockinterview", line
    return subprocess.run(
        [sys.executable, "-m", "app.cli.commands", *arguments],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_readme_first_steps_publish_a_slot_on_a_fresh_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` in an empty directory with no configuration (DATA_DIR, PUBLIC_BASE_URL unset), then the
    README's first steps exactly as written: sign-up to a slot on the public board."""
    for name in ("DATA_DIR", "PUBLIC_BASE_URL", "LOG_LEVEL", "LOG_FORMAT", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    env = {"DATABASE_URL": "", "REDIS_URL": "", "SECRET_KEY": ""}
    port = free_port()
    console = tmp_path / "console.txt"
    steps = readme_first_steps()
    assert [language for language, _ in steps] == ["graphql"] * 2 + ["bash"] + ["graphql"] * 3
    sign_up, me, set_role, create_specialization, create_slot, board = (text for _, text in steps)
    with running_server(env, port=port, log_level="info", output=console, cwd=tmp_path) as base:
        # The first lines are ours; pgserver's initdb transcript and alembic's lines stay out.
        lines = console.read_text().splitlines()
        assert lines[0] == f"GraphQL endpoint: http://127.0.0.1:{port}/graphql", lines[:5]
        pgdata = tmp_path.resolve() / ".mockinterview" / "pgdata"
        assert lines[1] == f"Embedded PostgreSQL: {pgdata} (DATA_DIR)", lines[:5]
        for noise in ("pgserver", "initdb", "pg_ctl", "alembic", "The files belonging"):
            assert not [line for line in lines if noise in line], noise

        signed_up = _gql(base, sign_up)["signUp"]
        token = signed_up["accessToken"]
        user = signed_up["user"]
        assert (user["email"], user["points"]) == ("me@example.com", 1)
        # PUBLIC_BASE_URL defaults to the address `serve` listens on: the link works on this port.
        assert user["calendarFeedUrl"].startswith(f"{base}/calendar/")
        feed = httpx.get(user["calendarFeedUrl"], timeout=10)
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        assert _gql(base, me, token=token)["me"]["role"] == "MEMBER"

        promoted = run_command(set_role.strip(), tmp_path, env)
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        assert _gql(base, me, token=token)["me"]["role"] == "ADMIN"

        specialization = _gql(base, create_specialization, token=token)["createSpecialization"]
        slot_document = create_slot.replace("<specialization id>", specialization["id"])
        slot = _gql(base, slot_document, token=token)["createSlot"]
        assert slot["status"] == "OPEN"
        listed = _gql(base, board)["openSlots"]["edges"]
        assert [edge["node"]["id"] for edge in listed] == [slot["id"]]
        assert listed[0]["node"]["host"] == {"displayName": "Me"}

        # The README's next suggestion: demo data in the same database, beside the newcomer's own.
        seeded = run_command(
            ".venv/bin/mockinterview seed-demo --members 20 --slots 40 --messages 50", tmp_path, env
        )
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        demo_login = """mutation { logIn(input: {email: "admin@demo.mockinterview",
          password: "demo-password-123"}) { user { role } } }"""
        assert _gql(base, demo_login)["logIn"]["user"] == {"role": "ADMIN"}
        assert _gql(base, me, token=token)["me"]["email"] == "me@example.com"


# --- commands other than serve need the embedded database serve created -----------------------------


@pytest.mark.parametrize(
    "command",
    [["set-role", "me@example.com", "ADMIN"], ["migrate"], ["seed-demo", "--members", "4"]],
)
def test_commands_other_than_serve_do_not_create_an_embedded_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATA_DIR", raising=False)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.commands", *command],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"no embedded database in {tmp_path.resolve() / '.mockinterview' / 'pgdata'}" in result.stderr
    assert "mockinterview serve" in result.stderr
    assert "DATA_DIR" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert not (tmp_path / ".mockinterview" / "pgdata").exists()


# --- serve refuses a database that lacks this release's migrations --------------------------------


@pytest.fixture
def database_behind_head(postgres_server: str) -> Iterator[str]:
    name = infra.fresh_database_name() + "_behind"
    url = asyncio.run(infra.create_database(postgres_server, name))
    upgrade(url, "0002")
    yield url
    asyncio.run(infra.drop_database(postgres_server, name))


def test_serve_refuses_a_database_behind_head(database_behind_head: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.commands", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_behind_head, "DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "at 0002, this release needs" in result.stderr
    assert "run `mockinterview migrate`" in result.stderr
    assert "GraphQL endpoint" not in result.stdout
    assert not (tmp_path / "data" / "pgdata").exists()  # no embedded database started instead


# --- PUBLIC_BASE_URL ---------------------------------------------------------------------------------


def test_listen_url_names_the_served_address() -> None:
    assert listen_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert listen_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"  # noqa: S104
    assert listen_url("::", 9000) == "http://[::1]:9000"
    assert listen_url("api.internal", 80) == "http://api.internal:80"


def test_public_base_url_defaults_to_the_served_address_unless_set(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    request.addfinalizer(get_settings.cache_clear)  # it re-reads the environment monkeypatch restores
    monkeypatch.setenv("PUBLIC_BASE_URL", "")  # records the variable's state for the restore
    monkeypatch.delenv("PUBLIC_BASE_URL")
    default_public_base_url(Settings(), "127.0.0.1", 8123)
    assert os.environ["PUBLIC_BASE_URL"] == "http://127.0.0.1:8123"
    assert Settings().public_url("/files/x.png") == "http://127.0.0.1:8123/files/x.png"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com/")
    default_public_base_url(Settings(), "127.0.0.1", 8123)
    assert os.environ["PUBLIC_BASE_URL"] == "https://api.example.com/"
    assert Settings().public_url("/calendar/t.ics") == "https://api.example.com/calendar/t.ics"


def test_embedded_postgres_transcripts_only_when_debugging() -> None:
    for level, expected in (
        ("info", "WARNING"),
        ("warning", "WARNING"),
        ("error", "ERROR"),
        ("debug", "DEBUG"),
    ):
        loggers = logging_config("text", level)["loggers"]
        assert loggers["pgserver"]["level"] == expected
        assert loggers["alembic.runtime.migration"]["level"] == expected
