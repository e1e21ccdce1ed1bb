"""The real `mockinterview serve` process on its embedded default, over a real socket."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.process import ROOT, running_server

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
        role = _gql(base, "{ me { role } }", token=logged_in["accessToken"])["me"]["role"]
        assert role == "ADMIN"
        assert _postgres_processes(data_dir)
    # The data survives a restart, and no postgres is left behind after each stop.
    assert not _postgres_processes(data_dir)
    with running_server(env) as base:
        logged_in = _gql(base, LOG_IN)["logIn"]
        assert logged_in["accessToken"]
    assert not _postgres_processes(data_dir)
