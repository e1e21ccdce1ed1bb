"""Refuses, before execution, operations no resolver should see: text arguments that cannot be stored
(NUL, lone surrogates; `schema.inputs`) and subscriptions sent over plain HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from app.core.errors import AppError, BadRequest, BadUserInput
from schema.inputs import unstorable_input


def _over_http(execution: ExecutionContext) -> bool:
    connection = getattr(execution.context, "connection", None)
    return bool((getattr(connection, "scope", None) or {}).get("type") == "http")


def _refusal(execution: ExecutionContext, over_http: bool) -> AppError | None:
    """Why this operation must not run, or None."""
    found, owner = unstorable_input(execution.variables, execution.query, execution.graphql_document)
    if found:
        subject = f"`{owner}`" if owner else "Text"
        return BadUserInput(f"{subject} must not contain NUL characters or unpaired surrogates.", field=owner)
    if over_http and execution.operation_type is OperationType.SUBSCRIPTION:
        return BadRequest("Subscriptions need a WebSocket (graphql-transport-ws on /graphql).")
    return None


class InputChecks(SchemaExtension):
    """Answers a refused operation with one coded error and runs nothing of it."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        over_http = _over_http(execution)
        error = _refusal(execution, over_http)
        if error is not None:
            if execution.operation_type is OperationType.SUBSCRIPTION and not over_http:
                raise error  # a live stream ignores `result`; Strawberry sends what on_execute raises
            execution.result = ExecutionResult(
                data=None, errors=[GraphQLError(error.message, extensions=error.extensions)]
            )
        yield
