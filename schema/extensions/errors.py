"""Schema extensions: stable error codes, masking of unexpected errors, per-operation cleanup."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError

from app.core.errors import BAD_USER_INPUT, AppError

logger = logging.getLogger("mockinterview.errors")

MASKED_MESSAGE = "Unexpected error."
INTERNAL = "INTERNAL_SERVER_ERROR"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def _coded(
    error: GraphQLError, message: str, code: str, extra: dict[str, object] | None = None
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(extra or {}), "code": code},
    )


def classify(error: GraphQLError) -> GraphQLError:
    """Give every error an `extensions.code`; hide everything we did not raise on purpose."""
    original = error.original_error
    if isinstance(original, AppError):
        return _coded(error, original.message, original.code, original.extensions)
    if isinstance(original, GlobalIDValueError):
        return _coded(error, "Malformed ID.", BAD_USER_INPUT)
    if original is None or error.path is None:
        # No path: the request itself was bad (syntax, validation, variable coercion).
        if error.extensions and "code" in error.extensions:
            return error
        if error.message.startswith("Syntax Error"):
            return _coded(error, error.message, PARSE_FAILED)
        if error.message.startswith("Variable ") or "got invalid value" in error.message:
            return _coded(error, error.message, BAD_USER_INPUT)
        return _coded(error, error.message, VALIDATION_FAILED)
    logger.error("unexpected error in resolver", exc_info=original)
    return GraphQLError(
        MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": INTERNAL},
    )


class ErrorCodes(SchemaExtension):
    """Runs after execution and rewrites `result.errors` (see `classify`)."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [classify(e) for e in errors]
        elif self.execution_context.pre_execution_errors:
            self.execution_context.pre_execution_errors = [
                classify(e) for e in self.execution_context.pre_execution_errors
            ]


class CloseDatabaseSession(SchemaExtension):
    """Releases the request's database session once the operation has finished."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        await release_session(self.execution_context.context)


async def release_session(context: object) -> None:
    """Give the request's connection back to the pool as soon as its operation is done, before the
    response is encoded and sent (a request waiting for a connection should not wait for that)."""
    db = getattr(context, "db", None)
    if db is not None and not getattr(context, "keeps_session", False):
        await db.close()
