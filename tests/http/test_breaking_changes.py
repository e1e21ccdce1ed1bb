"""Breaking changes to the schema since the last release are listed in CHANGELOG.md.

`docs/schema-released.graphql` is the schema clients have; graphql-core's `find_breaking_changes`
compares `schema.graphql` with it, and each breaking change must be named in the Unreleased section of
CHANGELOG.md: by its `Type.field` (as the change's description spells it), by its type in backticks
when it names no field, or by the whole description.
"""

from __future__ import annotations

import re
from pathlib import Path

from graphql import build_schema, find_breaking_changes

ROOT = Path(__file__).resolve().parents[2]
RELEASED = ROOT / "docs" / "schema-released.graphql"
CHANGELOG = ROOT / "CHANGELOG.md"
DOTTED_NAME = re.compile(r"\b[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*\b")


def unreleased_notes(changelog: str) -> str:
    """The text of the `## [Unreleased]` section (up to the next `## ` heading)."""
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", changelog, re.MULTILINE | re.DOTALL)
    assert match, "CHANGELOG.md needs a `## [Unreleased]` section"
    return match.group(1)


def is_listed(description: str, notes: str) -> bool:
    """Whether the notes name this change: its description, a `Type.field` it mentions, or (for a
    change that names no field, e.g. a removed type or enum value) one of its names in backticks."""
    if description.rstrip(".") in notes:
        return True
    names = DOTTED_NAME.findall(description)
    if names:
        return any(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", notes) for name in names)
    names = [word for word in re.findall(r"[_A-Za-z]\w*", description) if not word.islower()]
    return any(f"`{name}`" in notes for name in names)


def unlisted_breaking_changes(released_sdl: str, current_sdl: str, changelog: str) -> list[str]:
    notes = unreleased_notes(changelog)
    changes = find_breaking_changes(build_schema(released_sdl), build_schema(current_sdl))
    return [change.description for change in changes if not is_listed(change.description, notes)]


def test_breaking_changes_since_the_release_are_in_the_changelog() -> None:
    unlisted = unlisted_breaking_changes(
        RELEASED.read_text(), (ROOT / "schema.graphql").read_text(), CHANGELOG.read_text()
    )
    assert unlisted == [], (
        "breaking schema changes since docs/schema-released.graphql that CHANGELOG.md's Unreleased "
        "section does not name (list each with its `Type.field`):\n" + "\n".join(unlisted)
    )


RELEASED_EXAMPLE = """
type Query { me: User, slots: [String!]! }
type User { id: ID!, email: String, points: Int }
type Retired { id: ID! }
"""
CURRENT_EXAMPLE = """
type Query { me: User, slots(first: Int!): [String!]! }
type User { id: ID!, email: String }
"""
CHANGELOG_EXAMPLE = """# Changelog

## [Unreleased]

### Removed

- `User.points`: query `pointsLedger` instead.

## [1.0.0] - 2026-01-01

- Query.slots got a required argument (an older note: does not count).
"""


def test_the_check_finds_unlisted_changes_and_accepts_listed_ones() -> None:
    unlisted = unlisted_breaking_changes(RELEASED_EXAMPLE, CURRENT_EXAMPLE, CHANGELOG_EXAMPLE)
    assert unlisted == [
        "Retired was removed.",
        "A required argument Query.slots(first:) was added.",
    ]
    listed = CHANGELOG_EXAMPLE.replace(
        "### Removed\n", "### Removed\n\n- `Retired` is gone.\n- `Query.slots(first:)` is required.\n"
    )
    assert unlisted_breaking_changes(RELEASED_EXAMPLE, CURRENT_EXAMPLE, listed) == []
    # A name inside a longer one does not count (`User.pointsLedger` is not `User.points`).
    other = CHANGELOG_EXAMPLE.replace("`User.points`", "`User.pointsLedger`")
    assert "Field User.points was removed." in unlisted_breaking_changes(
        RELEASED_EXAMPLE, CURRENT_EXAMPLE, other
    )


def test_released_schema_is_a_schema() -> None:
    schema = build_schema(RELEASED.read_text())
    assert schema.query_type is not None
    assert schema.mutation_type is not None
