"""The execution context that lets a resolver hand graphql-core a value it completed itself.

Compiled fields (plans.py) return a `Precompleted`: the response value built from JSON that
PostgreSQL made. graphql-core would otherwise complete it against the field's selection again;
`complete_value` passes it through as it is. This overrides a public method of graphql-core's
`Executor` (through Strawberry's public `execution_context_class`); graphql-core is pinned to
3.3.x in pyproject.toml and tests/http/test_pinned_hooks.py fails when the signature moves.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLOutputType
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class Precompleted:
    """A field value a resolver has already completed (e.g. JSON built by PostgreSQL): returned as
    the field's result without looking at its selection again."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class CompiledExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, passing `Precompleted` values through."""

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is Precompleted:
            return result.value
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)
