"""API keys with the READ scope may run queries and subscriptions, never mutations."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.core.enums import ApiKeyScope
from app.core.errors import FORBIDDEN
from schema.context import Context


class ReadOnlyApiKeys(SchemaExtension):
    """A READ-scoped API key may run queries (and subscriptions) but no mutation."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            isinstance(context, Context)
            and context.api_key_scope == ApiKeyScope.READ
            and execution.operation_type is OperationType.MUTATION
        ):
            execution.result = ExecutionResult(
                data=None,
                errors=[GraphQLError("This API key is read-only.", extensions={"code": FORBIDDEN})],
            )
        yield
