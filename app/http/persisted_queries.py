"""The HTTP side of persisted documents (app/core/persisted_queries.py): one operation run with its
document resolved (APQ, the allowlist) and only queries over GET, and the allowlist built from a
client's operations (`mockinterview build-allowlist`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cross_web import HTTPException
from graphql import (
    DefinitionNode,
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.core.errors import AppError
from app.core.persisted_queries import MANIFEST_FORMAT, PersistedQueries, document_hash

OPERATION_SUFFIXES = (".graphql", ".gql")
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
# GraphQL-over-HTTP: GET runs queries only (strawberry would also take subscriptions, for its
# multipart transport, which this server does not offer).
ALLOWED_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION, OperationType.SUBSCRIPTION}),
}


def refused(error: AppError) -> ExecutionResult:
    """A request refused before execution (no path: a request error), with its `extensions.code`."""
    return ExecutionResult(data=None, errors=[GraphQLError(error.message, extensions=error.extensions)])


def _ran(result: ExecutionResult) -> bool:
    """The document parsed, validated and executed (field errors carry a path, request errors none)."""
    return all(error.path is not None for error in result.errors or [])


async def execute_request(
    schema: BaseSchema,
    documents: PersistedQueries,
    method: str,
    data: GraphQLRequestData,
    context: Any,
    sub_response: Response,
) -> tuple[ExecutionResult, str | None]:
    """Strawberry's `execute_single` with the document resolved by `documents` (remembered after it
    ran when the client registered it) and, over GET, a 405 with `Allow: POST` for anything but a
    query. Returns the result and the document that ran."""
    try:
        resolved = await documents.resolve(data.query, data.extensions)
    except AppError as error:
        return refused(error), None
    try:
        result = await schema.execute(
            resolved.document,
            variable_values=data.variables,
            context_value=context,
            operation_name=data.operation_name,
            allowed_operation_types=ALLOWED_OPERATIONS[method],
            operation_extensions=data.extensions,
        )
    except InvalidOperationTypeError as error:
        if method != "GET":
            raise HTTPException(400, error.as_http_error_reason(method)) from error
        sub_response.status_code = 405
        sub_response.headers["allow"] = "POST"
        reason = f"{error.as_http_error_reason(method)}; use POST."
        return refused(AppError(reason, code=METHOD_NOT_ALLOWED)), None
    except CannotGetOperationTypeError as error:
        raise HTTPException(400, error.as_http_error_reason()) from error
    except MissingQueryError as error:
        raise HTTPException(400, "No GraphQL query found in the request") from error
    if resolved.register_as is not None and resolved.document is not None and _ran(result):
        await documents.register(resolved.register_as, resolved.document)
    return result, resolved.document


def operation_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the `.graphql` / `.gql` files under the directories named, sorted."""
    files: set[Path] = set()
    for path in paths:
        if path.is_dir():
            files.update(p for p in path.rglob("*") if p.suffix in OPERATION_SUFFIXES and p.is_file())
        else:
            files.add(path)
    return sorted(files)


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.append(node.name.value)


def _spread_names(node: Node) -> list[str]:
    spreads = _Spreads()
    visit(node, spreads)
    return spreads.names


def _with_fragments(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> DocumentNode:
    """The operation and every fragment it uses (transitively), in first-use order."""
    used: dict[str, FragmentDefinitionNode] = {}
    pending = _spread_names(operation)
    while pending:
        name = pending.pop(0)
        if name in used:
            continue
        if name not in fragments:
            operation_name = operation.name.value if operation.name else "?"
            raise ValueError(f"operation {operation_name}: no fragment {name}")
        used[name] = fragments[name]
        pending.extend(_spread_names(fragments[name]))
    definitions: list[DefinitionNode] = [operation, *used.values()]
    return DocumentNode(definitions=tuple(definitions))


def build_manifest(paths: Sequence[Path], schema: GraphQLSchema | None = None) -> dict[str, Any]:
    """An Apollo persisted query manifest of the named operations in `paths` (fragments may live in
    any of the files): one entry per operation, its body the operation and the fragments it uses as
    printed by graphql-core (the same text as graphql-js `print`), its id the sha256 of the body.
    Raises ValueError for unnamed or duplicate operations, missing fragments, and (with `schema`)
    operations that do not validate."""
    operations: list[OperationDefinitionNode] = []
    fragments: dict[str, FragmentDefinitionNode] = {}
    for file in operation_files(paths):
        try:
            document = parse(file.read_text(encoding="utf-8"), no_location=True)
        except GraphQLError as exc:
            raise ValueError(f"{file}: {exc.message}") from exc
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
            elif isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise ValueError(f"{file}: every operation needs a name")
                operations.append(definition)
    entries: dict[str, dict[str, str]] = {}
    for operation in operations:
        name = operation.name.value if operation.name else ""
        if name in entries:
            raise ValueError(f"two operations are named {name}")
        document = _with_fragments(operation, fragments)
        errors = validate(schema, document) if schema is not None else []
        if errors:
            raise ValueError(f"operation {name}: {errors[0].message}")
        body = print_ast(document)
        kind = operation.operation.value
        entries[name] = {"id": document_hash(body), "name": name, "type": kind, "body": body}
    return {"format": MANIFEST_FORMAT, "version": 1, "operations": list(entries.values())}
