"""docs/clients.md and the files tests/clients runs stay in step: every JavaScript and Python block of
the page appears in them, each set-up file appears on the page whole, and the install lines name the
pinned versions."""

from __future__ import annotations

import json
import re
import shlex
import tomllib

import pytest

from tests.clients.support import HERE, JS

ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "clients.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SET_UPS = (JS / "session.mjs", JS / "apollo.mjs", JS / "urql.mjs", HERE / "gql_client.py")
RUN_BY_THE_TESTS = {
    "js": tuple(sorted(JS.glob("*.mjs"))),
    "python": (HERE / "gql_client.py", HERE / "test_gql_client.py"),
}


def blocks(language: str) -> list[str]:
    return [body for tag, body in FENCE.findall(DOC.read_text()) if tag == language]


def lines(text: str) -> str:
    """The non-blank lines of `text`, stripped: a snippet may sit deeper in a scenario than on the page."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("language", ["js", "python"])
def test_every_block_of_the_page_is_run_by_the_tests(language: str) -> None:
    sources = [f"\n{lines(path.read_text())}\n" for path in RUN_BY_THE_TESTS[language]]
    shown = blocks(language)
    assert len(shown) >= 5
    missing = [block for block in shown if not any(f"\n{lines(block)}\n" in source for source in sources)]
    assert missing == [], "blocks of docs/clients.md that no file of tests/clients holds"


def test_each_set_up_file_is_on_the_page_whole() -> None:
    shown = set(blocks("js") + blocks("python"))
    assert [path.name for path in SET_UPS if path.read_text() not in shown] == []


def install_commands(program: str) -> list[list[str]]:
    commands = [shlex.split(line) for block in blocks("bash") for line in block.splitlines()]
    return [words for words in commands if words[:2] == [program, "install"]]


def test_the_npm_install_lines_name_every_pinned_package() -> None:
    pinned: dict[str, str] = json.loads((JS / "package.json").read_text())["dependencies"]
    named: dict[str, str] = {}
    for words in install_commands("npm"):
        assert "--save-exact" in words
        for spec in (word for word in words[2:] if not word.startswith("-")):
            package, _, version = spec.rpartition("@")
            assert named.setdefault(package, version) == version, spec
    assert named == pinned


def test_the_pip_install_line_names_the_tested_gql() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    tested = [spec for spec in extras["test"] if spec.startswith("gql")]
    assert [words[2:] for words in install_commands("pip")] == [tested]
