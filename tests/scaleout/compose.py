"""deploy/compose.yaml as the reference topology's test and bench read it: the file with Compose's
variable interpolation applied, placeholder values for the variables a deployment must set, and the
services that run our image."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML (test extras); it ships no type hints

from tests.process import ROOT

COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
APP_DOCKERFILE = "deploy/Dockerfile"
SECRETS_DIR = "/run/secrets/"

# Compose's forms: $$ (a literal $), ${NAME}, ${NAME:?message}, ${NAME?message}, ${NAME:-default},
# ${NAME-default}, and $NAME.
_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<operator>:?[?-])(?P<argument>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


class UnsetVariable(KeyError):
    """A variable the file requires (or uses without a default) has no value."""


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """`text` with its variables replaced as Compose does, except that a variable used without a
    default must have a value (Compose would substitute an empty string and warn)."""

    def replace(reference: re.Match[str]) -> str:
        if reference["escaped"]:
            return "$"
        name = reference["name"] or reference["bare"]
        operator, argument = reference["operator"] or "", reference["argument"] or ""
        value = values.get(name)
        if operator.startswith(":") and value == "":
            value = None
        if value is not None:
            return value
        if operator.endswith("-"):
            return argument
        raise UnsetVariable(f"{name} is not set" + (f": {argument}" if argument else ""))

    return _REFERENCE.sub(replace, text)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def references(compose: Any) -> list[tuple[str, str]]:
    """Every variable the parsed file uses (comments aside), as (name, operator): `:?` for a
    required one, `` for a plain one."""
    found = []
    for text in _strings(compose):
        for reference in _REFERENCE.finditer(text):
            if not reference["escaped"]:
                found.append((reference["name"] or reference["bare"], reference["operator"] or ""))
    return found


def placeholder(name: str) -> str:
    """A value of the right shape for a variable the file requires (what an operator would set)."""
    if name == "SECRET_KEY":
        return secrets.token_urlsafe(48)
    if name == "FILES_ENCRYPTION_KEY":
        return base64.b64encode(secrets.token_bytes(32)).decode()
    if name.endswith(("_PASSWORD", "_TOKEN")):
        return secrets.token_hex(24)
    if name == "PUBLIC_BASE_URL":
        return "https://api.example.com"
    if name == "APP_ORIGIN":
        return "https://app.example.com"
    raise UnsetVariable(f"no placeholder for {name}: say in tests/scaleout/compose.py what it looks like")


def placeholders(compose: Any) -> dict[str, str]:
    """A value for every variable the parsed file requires."""
    return {name: placeholder(name) for name, operator in references(compose) if operator.endswith("?")}


def _interpolated(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, values)
    if isinstance(node, dict):
        return {key: _interpolated(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(item, values) for item in node]
    return node


def parse_compose() -> dict[str, Any]:
    """The compose file as YAML (anchors and merge keys resolved), not interpolated yet."""
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return parsed


def load_compose(values: Mapping[str, str]) -> dict[str, Any]:
    """The compose file, parsed, then interpolated with `values`."""
    interpolated: dict[str, Any] = _interpolated(parse_compose(), values)
    return interpolated


@dataclass(frozen=True)
class AppService:
    """A service that runs our image: its `mockinterview` arguments, environment and mounted secrets."""

    name: str
    command: list[str]
    environment: dict[str, str]
    secrets: list[str]

    def secret_files(self) -> list[str]:
        """The /run/secrets/... paths its command and environment name."""
        text = " ".join([*self.command, *self.environment.values()])
        return sorted(set(re.findall(re.escape(SECRETS_DIR) + r"([\w.-]+)", text)))


def app_services(compose: Mapping[str, Any]) -> dict[str, AppService]:
    """The services built from deploy/Dockerfile, by name."""
    found = {}
    for name, service in compose["services"].items():
        build = service.get("build") or {}
        if build.get("dockerfile") != APP_DOCKERFILE:
            continue
        environment = {key: str(value) for key, value in (service.get("environment") or {}).items()}
        found[name] = AppService(
            name, [str(part) for part in service["command"]], environment, list(service.get("secrets", []))
        )
    return found
