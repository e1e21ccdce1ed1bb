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


def test_lean_resolvers_cover_the_hot_fields_and_keep_guarded_ones() -> None:
    """schema/lean_resolvers.py must still recognise the fields it speeds up after a Strawberry
    upgrade, and must never replace a field that has permission extensions."""
    from app.core.settings import Settings
    from schema.build import build_schema

    schema = build_schema(Settings(secret_key="x" * 48, database_url="postgresql+asyncpg://x/y"))
    types = schema._schema.type_map

    def kind(type_name: str, field: str) -> str:
        return getattr(types[type_name].fields[field].resolve, "__name__", "")  # type: ignore[attr-defined]

    assert kind("Message", "id") == "resolve_node_id"
    assert kind("Interview", "id") == "resolve_node_id"
    assert kind("Message", "body") == "resolve_attribute"
    assert kind("Interview", "interviewer") == "resolve_method"
    assert kind("Interview", "messages") == "resolve_method"
    assert kind("User", "email") == "resolve_method"
    query = types["Query"].fields  # type: ignore[attr-defined]
    assert getattr(query["myInterviews"].resolve, "__name__", "") != "resolve_method"


def test_lean_node_id_is_the_relay_global_id() -> None:
    from strawberry import relay

    from schema.execution.lean_resolvers import _node_id_resolver

    class Row:
        id = 1234567

    assert _node_id_resolver("Message", "id")(Row(), None) == str(relay.GlobalID("Message", "1234567"))
