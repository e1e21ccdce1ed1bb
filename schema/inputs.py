"""The checks every argument passes before a resolver sees it (kernel rules: `app.core.inputs`).

- Strings: `unstorable_input` finds a NUL or a lone surrogate anywhere in an operation's
  variables or document; `schema.extensions.input_checks` refuses such an operation before
  execution, so no resolver needs to check.
- DateTimes: `DATETIME` replaces Strawberry's scalar; every DateTime argument (and cursor
  timestamp, `checked_datetime`) needs a UTC offset and a date inside the accepted calendar.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ObjectFieldNode,
    StringValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.schema.types.base_scalars import DateTimeDefinition

from app.core.errors import BAD_USER_INPUT, BadUserInput
from app.core.inputs import EARLIEST, LATEST, storable_text, within_calendar

DATETIME_RULE = f"an ISO 8601 date and time with a UTC offset, between {EARLIEST.date()} and {LATEST.date()}"


def checked_datetime(value: datetime, field: str | None) -> datetime:
    """`value` when it has a UTC offset and lies inside the accepted calendar; else BAD_USER_INPUT."""
    if value.tzinfo is None or value.utcoffset() is None or not within_calendar(value):
        raise BadUserInput(f"`{field or 'DateTime'}` must be {DATETIME_RULE}.", field=field)
    return value


_parse_iso = DateTimeDefinition.parse_value  # Strawberry's: the formats clients already send


def _parse_datetime(value: object) -> datetime:
    """A DateTime argument (a variable or a literal); a coded error when it is not one we accept."""
    try:
        parsed = _parse_iso(value) if _parse_iso is not None else None
        if not isinstance(parsed, datetime):
            raise ValueError("not a date and time")
        return checked_datetime(parsed, None)
    except (GraphQLError, ValueError, OverflowError, BadUserInput) as exc:
        message = f"A DateTime must be {DATETIME_RULE}."
        raise GraphQLError(message, extensions={"code": BAD_USER_INPUT}) from exc


# Strawberry's DateTime scalar (same name, description and output), with the check above on input.
DATETIME = dataclasses.replace(
    DateTimeDefinition, parse_value=_parse_datetime, parse_literal=None, implementation=None
)


def unstorable_input(
    variables: Mapping[str, Any] | None, query: str | None, document: DocumentNode | None
) -> tuple[bool, str | None]:
    """Whether an operation's arguments hold text that is not storable (in its variables, at any
    depth, keys included, or in its document's string literals and variable defaults), and the name
    of the argument or input field holding it (never a name that is itself unstorable)."""
    path = _unstorable_path(variables)
    if path is not None:
        if len(path) == 1 and document is not None:  # a variable's own value: name its argument
            return True, _argument_of(document, path[0]) or path[0]
        return True, path[-1] if path else None
    if document is None or (query is not None and "\\u" not in query):
        return False, None  # only an escape (`\\u0000`) puts such a character in a GraphQL string
    finder = _UnstorableLiteral()
    visit(document, finder)
    return finder.found, finder.owner


def _unstorable_path(variables: Mapping[str, Any] | None) -> list[str] | None:
    """The keys leading to the first unstorable string (or key) in `variables`, None if there is none."""
    stack: list[tuple[object, list[str]]] = [(variables or {}, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not storable_text(value):
                return path
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str) or not storable_text(key):
                    return path
                stack.append((item, [*path, key]))
        elif isinstance(value, list | tuple):
            stack.extend((item, path) for item in value)
    return None


def _owner(ancestors: list[Any]) -> str | None:
    """The argument, input field or variable a value node belongs to (`ancestors`: its parent last)."""
    for ancestor in reversed(ancestors):
        if isinstance(ancestor, ArgumentNode | ObjectFieldNode):
            return str(ancestor.name.value)
        if isinstance(ancestor, VariableDefinitionNode):
            return str(ancestor.variable.name.value)
    return None


class _UnstorableLiteral(Visitor):
    """Stops at the first string literal that is not storable text, noting what it belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self.owner: str | None = None

    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> Any:
        if storable_text(node.value):
            return None
        self.found, self.owner = True, _owner([*ancestors, parent])
        return BREAK


class _VariableUse(Visitor):
    """Stops at the first use of variable `name`, noting the argument or input field it fills."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.owner: str | None = None

    def enter_variable(self, node: VariableNode, _key: Any, parent: Any, _path: Any, ancestors: Any) -> Any:
        if node.name.value != self.name or isinstance(parent, VariableDefinitionNode):
            return None
        self.owner = _owner([*ancestors, parent])
        return BREAK


def _argument_of(document: DocumentNode, variable: str) -> str | None:
    use = _VariableUse(variable)
    visit(document, use)
    return use.owner
