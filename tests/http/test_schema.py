"""The committed SDL matches the code, and permission directives are visible on guarded fields."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def exported_sdl() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.commands", "export-schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def test_schema_graphql_is_up_to_date() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert exported_sdl() == committed, (
        "schema.graphql is stale: run `mockinterview export-schema > schema.graphql`"
    )


def test_permission_directives_are_printed_on_guarded_fields() -> None:
    sdl = (ROOT / "schema.graphql").read_text()
    assert "directive @requiresRole(roles: [Role!]!) on FIELD_DEFINITION" in sdl
    assert "directive @isAuthenticated on FIELD_DEFINITION" in sdl
    lines = {line.strip().split("(")[0]: line for line in sdl.splitlines()}
    assert "@requiresRole(roles: [ADMIN])" in lines["setUserRole"]
    assert "@requiresRole(roles: [MODERATOR, ADMIN])" in lines["users"]
    assert "@requiresRole(roles: [ADMIN])" in lines["auditLog"]
    assert "@isAuthenticated" in lines["updateProfile"]
