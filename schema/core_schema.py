"""The one place that reaches into Strawberry for the graphql-core schema it built."""

from __future__ import annotations

import strawberry
from graphql import GraphQLSchema


def graphql_core_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema Strawberry built, for graphql-core's own functions (validation,
    allowlist manifests). Strawberry has no public accessor: this reads `Schema._schema`, in this one
    place; strawberry-graphql is pinned in pyproject.toml and tests/http/test_pinned_hooks.py fails if
    the attribute moves."""
    return schema._schema
