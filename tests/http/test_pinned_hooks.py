"""The two places that depend on more than Strawberry's and graphql-core's documented API, and the
pins that keep them valid: an upgrade that moves either fails here first."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from graphql import Executor, GraphQLSchema

from app.core.settings import Settings
from schema.build import build_schema
from schema.compiled.execution import CompiledExecutionContext
from schema.core_schema import graphql_core_schema
from tests.conftest import TEST_SECRET


def _release(package: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(package).split(".")[:3] if part.isdigit())


def test_versions_are_within_the_pins() -> None:
    # pyproject.toml: graphql-core>=3.3.2,<3.4 and strawberry-graphql>=0.341,<0.400
    assert (3, 3, 2) <= _release("graphql-core") < (3, 4)
    assert (0, 341) <= _release("strawberry-graphql") < (0, 400)


def test_strawberry_keeps_its_graphql_core_schema() -> None:
    schema = build_schema(Settings(secret_key=TEST_SECRET))
    assert isinstance(graphql_core_schema(schema), GraphQLSchema)


def test_complete_value_has_the_signature_the_compiled_context_overrides() -> None:
    expected = ["self", "return_type", "field_details_list", "info", "path", "result", "position_context"]
    assert list(inspect.signature(Executor.complete_value).parameters) == expected
    assert list(inspect.signature(CompiledExecutionContext.complete_value).parameters) == expected
