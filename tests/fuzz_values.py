"""Edge-case argument values for the schema-driven fuzzer, by GraphQL type."""

from __future__ import annotations

import base64
from typing import Any

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLType

from tests.attack_support import dummy_value, named


def _gid(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


SCALAR_EDGES: dict[str, list[Any]] = {
    "ID": [
        "",
        "!!!",
        _gid("User:"),
        _gid("User:-1"),
        _gid("User:0"),
        _gid("User:99999999999999999999999"),
        _gid("Nope:1"),
        _gid("User:1 OR 1=1"),
        _gid("User:1\x00"),
        "a" * 5000,
        12,
        {"x": 1},
    ],
    "String": [
        "",
        " ",
        "x" * 100_000,
        "\x00",
        "😀" * 3000,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        7,
        ["a"],
    ],
    "Int": [-1, 0, -(2**31), 2**31 - 1, 2**31, 10**20, "1", 1.5, True],
    "Float": [-1e308, 1e308, "nan", 0.0],
    "Boolean": ["true", 0, None],
    "DateTime": [
        "",
        "not a date",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00",
        "2024-02-30T00:00:00Z",
        "2031-01-01T10:00:00",
        0,
    ],
    "JSON": [None, [], "x" * 1000, {"a": {"b": {"c": [1, 2, 3]}}}],
}


def edge_values(arg_name: str, type_: GraphQLType) -> list[Any]:
    """Values worth trying for one argument: nulls, wrong types, boundaries, malformed IDs, huge strings."""
    values: list[Any] = [None]
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        element = dummy_value(arg_name, inner.of_type)
        values += [[], [element] * 1000, "not a list", [None]]
        values += [[v] for v in edge_values(arg_name, inner.of_type)[1:6]]
        return values
    base = named(inner)
    if isinstance(base, GraphQLEnumType):
        return [*values, "NOPE", "", 3]
    if isinstance(base, GraphQLInputObjectType):
        values += [{}, "str", {"unknownField": 1}]
        good = dummy_value(arg_name, base)
        for field_name, field in base.fields.items():
            for edge in edge_values(field_name, field.type)[:8]:
                values.append({**good, field_name: edge})
        return values
    return values + SCALAR_EDGES.get(base.name, ["x", 1])
