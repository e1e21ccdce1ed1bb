"""`PERSISTED_QUERIES=allowlist`: documents that are not in the allowlist are refused on every transport.

Over HTTP the view already runs only listed documents (app/core/persisted_queries.py); this also covers
WebSocket operations, which send their document in full. The check runs before validation, so a foreign
document learns nothing about the schema.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.core.persisted_queries import PERSISTED_QUERY_NOT_ALLOWED


class ListedDocumentsOnly(SchemaExtension):
    """Refuses (`PERSISTED_QUERY_NOT_ALLOWED`) any operation whose text is not one of `documents`."""

    def __init__(self, *, documents: frozenset[str]) -> None:
        self.documents = documents

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.query is None or execution.query not in self.documents:
            # Set before validation runs: strawberry then skips it and answers with this error.
            execution.pre_execution_errors = [
                GraphQLError(
                    "This server only runs its persisted documents.",
                    extensions={"code": PERSISTED_QUERY_NOT_ALLOWED},
                )
            ]
        yield
