"""Schema extension that reports each operation to the HTTP layer's access log and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import SchemaExtension

from app.core import metrics


class RequestInfo(SchemaExtension):
    """Writes `operation_name`, `operation_type` and `user_id` into the ASGI `scope["state"]` and
    counts errors by `extensions.code`.

    Listed before `ErrorCodes` so that, on the way out, it sees the errors after they were coded.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        # Read the viewer's id now: a rolled-back transaction expires the ORM object later.
        viewer_id = getattr(getattr(self.execution_context.context, "viewer", None), "id", None)
        yield
        execution = self.execution_context
        try:
            operation_type: str | None = execution.operation_type.value
        except RuntimeError:  # the document did not parse
            operation_type = None
        report_operation(execution.context, execution.operation_name, operation_type, viewer_id)
        errors = getattr(execution.result, "errors", None) or execution.pre_execution_errors or []
        for error in errors:
            metrics.record_graphql_error((error.extensions or {}).get("code"), operation_type)


def report_operation(
    context: Any, operation_name: str | None, operation_type: str | None, user_id: Any
) -> None:
    """What the access log and metrics show of an operation, in the ASGI `scope["state"]`."""
    connection = getattr(context, "connection", None)
    scope: dict[str, Any] | None = getattr(connection, "scope", None)
    if scope is not None:
        state = scope.setdefault("state", {})
        state["operation_name"] = operation_name
        state["operation_type"] = operation_type
        state["user_id"] = user_id
