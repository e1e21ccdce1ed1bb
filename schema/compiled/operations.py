"""Whole queries answered from their compiled root fields, without graphql-core's execution.

Once the ordinary path has run a query document without errors (so it parsed, validated and passed
the depth, alias and token limits), `learn` keeps its operation when every root field is a compiled
one (roots.py) or `__typename`. Later requests with the same text and operation are answered by
`answer`: variables coerced by graphql-core's public `get_variable_values`, the same input checks as
`schema/extensions/input_checks.py`, each root field's permission directive and arguments, then the
root field's answer function, which finds its plan in the plan cache. Anything it cannot answer
exactly (a refused variable, a permission, an argument error, a field whose selection does not
compile) returns None and the request takes the ordinary path, which reports it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_argument_values,
    get_variable_values,
)
from strawberry.permission import PermissionExtension
from strawberry.types.base import StrawberryList, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from app.core.errors import AppError
from schema.compiled.execution import Precompleted
from schema.compiled.mapped import graphql_name
from schema.compiled.plans import FieldRequest, document_of
from schema.compiled.roots import ROOT_READS, Answer
from schema.context import Context
from schema.core_schema import graphql_core_schema
from schema.extensions.errors import release_session
from schema.extensions.request_info import report_operation
from schema.inputs import unstorable_input
from schema.permissions import IsAuthenticated, RequiresRole

MAX_OPERATIONS = 1000


@dataclass(frozen=True)
class _RootField:
    key: str
    node: FieldNode
    definition: GraphQLField | None  # None for `__typename`
    field: StrawberryField | None  # None for `__typename`
    answer: Answer | None


@dataclass(frozen=True)
class _Operation:
    node: OperationDefinitionNode
    fields: list[_RootField]


class OperationReads:
    """The learned query operations of one schema (see the module docstring)."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self.schema = schema
        self.core: GraphQLSchema = graphql_core_schema(schema)
        query_type = schema.get_type_by_name("Query")
        assert isinstance(query_type, StrawberryObjectDefinition)
        self.query_fields = {graphql_name(f): f for f in query_type.fields}
        self.known: OrderedDict[tuple[str, str | None], _Operation] = OrderedDict()

    def learn(self, query: str | None, operation_name: str | None) -> None:
        """Keep `query` (which just ran without errors) if every root field compiles."""
        if query is None or (query, operation_name) in self.known:
            return
        operation = self._operation(query, operation_name)
        if operation is not None:
            self.known[(query, operation_name)] = operation
            while len(self.known) > MAX_OPERATIONS:
                self.known.popitem(last=False)

    def knows(self, query: str, operation_name: str | None) -> bool:
        """True when `answer` may answer this query (it was learned)."""
        return (query, operation_name) in self.known

    async def answer(
        self,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> dict[str, Any] | None:
        """The `data` of the request, or None to take the ordinary path."""
        operation = self.known.get((query, operation_name)) if query is not None else None
        if operation is None or not context.settings.compiled_reads:
            return None
        raw = variables or {}
        coerced = get_variable_values(self.core, operation.node.variable_definitions or (), raw)
        if isinstance(coerced, list) or unstorable_input(raw, query, document_of(query))[0]:
            return None
        data: dict[str, Any] = {}
        for root in operation.fields:
            value = await self._root(root, operation.node, query, coerced, context)
            if value is None:
                return None
            data[root.key] = value.value
        await release_session(context)
        viewer = context.viewer
        report_operation(context, operation_name, "query", viewer.id if viewer else None)
        return data

    async def _root(
        self, root: _RootField, node: OperationDefinitionNode, query: Any, coerced: Any, context: Context
    ) -> Precompleted | None:
        if root.answer is None or root.field is None or root.definition is None:
            return Precompleted("Query")  # __typename
        try:
            if not _permitted(root.field, context):
                return None
            arguments = _python_arguments(
                root.field, get_argument_values(root.definition, root.node, coerced)
            )
            request = FieldRequest(context, self.schema, query, node, root.key, dict(coerced.coerced))
            return await root.answer(request, **arguments)
        except (AppError, ValueError, TypeError):
            return None

    def _operation(self, query: str, operation_name: str | None) -> _Operation | None:
        document = document_of(query)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        named = [o for o in operations if (o.name.value if o.name else None) == operation_name]
        chosen = (
            named[0]
            if named
            else (operations[0] if operation_name is None and len(operations) == 1 else None)
        )
        if chosen is None or chosen.operation != OperationType.QUERY or chosen.directives:
            return None
        query_type = self.core.query_type
        assert query_type is not None
        fields: list[_RootField] = []
        for selection in chosen.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                return None
            name = selection.name.value
            key = (selection.alias or selection.name).value
            if name == "__typename":
                fields.append(_RootField(key, selection, query_type.fields.get(name), None, None))
                continue
            answer = ROOT_READS.get(name)
            if answer is None or any(f.key == key for f in fields):
                return None
            fields.append(
                _RootField(key, selection, query_type.fields[name], self.query_fields[name], answer)
            )
        return _Operation(chosen, fields)


def _permitted(field: StrawberryField, context: Context) -> bool:
    """The field's permission directives, as their `has_permission` decides."""
    for extension in field.extensions:
        if not isinstance(extension, PermissionExtension):
            return False
        for permission in extension.permissions:
            if isinstance(permission, RequiresRole):
                if context.require_viewer().role not in permission.roles:
                    return False
            elif isinstance(permission, IsAuthenticated):
                context.require_viewer()
            else:
                return False
    return True


def _python_arguments(field: StrawberryField, coerced: dict[str, Any]) -> dict[str, Any]:
    """GraphQL-coerced arguments by the resolver's parameter names, enums as Python enums."""
    arguments: dict[str, Any] = {}
    for argument in field.arguments:
        name = graphql_name(argument)
        if name in coerced:
            arguments[argument.python_name] = _python_value(argument.type, coerced[name])
    return arguments


def _python_value(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, StrawberryOptional):
        return _python_value(kind.of_type, value)
    if isinstance(kind, StrawberryList):
        return [_python_value(kind.of_type, item) for item in value]
    if isinstance(kind, StrawberryEnumDefinition):
        enum: type[Enum] = kind.wrapped_cls  # type: ignore[assignment]
        return value if isinstance(value, enum) else enum(value)
    return value
