"""Schema-driven request builders for the attack tests: operations and argument values from the SDL."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import graphql
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
)

from app.core.settings import Settings
from schema.build import build_schema
from schema.core_schema import graphql_core_schema

PUBLIC_MUTATIONS = {"signUp", "logIn", "refreshTokens", "logOut"}
ValueFor = Callable[[str, GraphQLType], Any]


@dataclass(frozen=True)
class RootField:
    operation: str  # "query" | "mutation"
    name: str
    field: graphql.GraphQLField
    directives: frozenset[str]
    roles: tuple[str, ...]

    @property
    def uses_upload(self) -> bool:
        return any(named(arg.type).name == "Upload" for arg in self.field.args.values())

    def id_paths(self) -> list[str]:
        """Argument names (dotted into input objects) whose type is ID or [ID]."""
        found: list[str] = []
        for name, arg in self.field.args.items():
            found.extend(_id_paths(name, arg.type))
        return found


def _id_paths(prefix: str, type_: GraphQLType) -> Iterator[str]:
    base = named(type_)
    if base.name == "ID":
        yield prefix
    elif isinstance(base, GraphQLInputObjectType):
        for name, field in base.fields.items():
            yield from _id_paths(f"{prefix}.{name}", field.type)


def named(type_: GraphQLType) -> Any:
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_


def graphql_schema() -> GraphQLSchema:
    """The executable schema as the server builds it."""
    return graphql_core_schema(build_schema(Settings()))


def root_fields() -> list[RootField]:
    """Every query and mutation, with the permission directives printed in the SDL."""
    strawberry_schema = build_schema(Settings())
    document = graphql.parse(str(strawberry_schema))
    schema = graphql_core_schema(strawberry_schema)
    fields: list[RootField] = []
    for definition in document.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name not in ("Query", "Mutation"):
            continue
        root = schema.query_type if name == "Query" else schema.mutation_type
        assert root is not None
        for node in getattr(definition, "fields", None) or []:
            roles: tuple[str, ...] = ()
            for directive in node.directives or []:
                if directive.name.value == "requiresRole":
                    value = directive.arguments[0].value
                    roles = tuple(v.value for v in value.values)
            fields.append(
                RootField(
                    operation="query" if name == "Query" else "mutation",
                    name=node.name.value,
                    field=root.fields[node.name.value],
                    directives=frozenset(d.name.value for d in node.directives or []),
                    roles=roles,
                )
            )
    return fields


def global_id(type_name: str, key: int | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def dummy_value(arg_name: str, type_: GraphQLType, id_value: str | None = None) -> Any:
    """A well-typed value that passes coercion (so the permission/object checks are what answer)."""
    if isinstance(type_, GraphQLNonNull):
        return dummy_value(arg_name, type_.of_type, id_value)
    if isinstance(type_, GraphQLList):
        return [dummy_value(arg_name, type_.of_type, id_value)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: dummy_value(name, field.type, id_value)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) or named(field.type).name == "ID"
        }
    scalar = getattr(type_, "name", "")
    values: dict[str, Any] = {
        "ID": id_value or global_id("User", 1),
        "String": "a probe string of reasonable length",
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "DateTime": "2031-01-01T10:00:00+00:00",
        "JSON": {},
        "Upload": None,
    }
    return values.get(scalar, "x")


def selection(field: graphql.GraphQLField) -> str:
    return " { __typename }" if isinstance(named(field.type), GraphQLObjectType) else ""


def operation_for(root: RootField, arg_names: list[str] | None = None) -> str:
    """`mutation($a: T!, ...) { field(a: $a, ...) { __typename } }` over the given (default all) args."""
    names = list(root.field.args) if arg_names is None else arg_names
    variables = ", ".join(f"${n}: {root.field.args[n].type}" for n in names)
    arguments = ", ".join(f"{n}: ${n}" for n in names)
    header = f"{root.operation}({variables})" if names else root.operation
    call = f"{root.name}({arguments})" if names else root.name
    return f"{header} {{ {call}{selection(root.field)} }}"


def multipart(query: str, variables: dict[str, Any], upload_args: list[str]) -> dict[str, Any]:
    """httpx keyword arguments for a GraphQL multipart request (files replace the Upload variables)."""
    mapping = {str(i): [f"variables.{name}"] for i, name in enumerate(upload_args)}
    files = {str(i): (f"f{i}.png", b"\x89PNG\r\n\x1a\n", "image/png") for i in range(len(upload_args))}
    return {
        "data": {
            "operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps(mapping),
        },
        "files": files,
        "headers": {"GraphQL-Require-Preflight": "1"},
    }
