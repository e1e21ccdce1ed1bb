"""Fields that do not compile, resolved on their own inside a compiled page.

The compiler puts a marker in place of such a field (`{"__hole": <n>, "id": <row id>}`), under an
object with an id. After the statement, `fill` reads the page's JSON, finds the markers and resolves
all of them in one execution of graphql-core's public `execute` on a generated document
(`h0: node(id: "...") { ... on Interview { feedback { rating } } } h1: ...`), through the same
context (loaders, viewer, session): the resolvers batch across the page as they would on the
resolver path. Variables inside those fields were fixed when the plan was built (they are part of its
key) and are written into the document as literals. Any error in it returns None: the caller then
answers the whole field on the resolver path, which reports the error where it belongs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    Visitor,
    ast_from_value,
    execute,
    is_input_type,
    parse,
    print_ast,
    type_from_ast,
    visit,
)

from schema.compiled.selection import Selected
from schema.ids import to_global_id

HOLE_KEY = "__hole"
HOLE_ROOT = object()  # root value of the filling execution: nothing below it compiles again


@dataclass(frozen=True)
class Hole:
    type_name: str
    selected: Selected


@dataclass(frozen=True)
class HoleFields:
    """What a plan needs to fill its holes: each hole's field as GraphQL text, and the fragments."""

    fields: list[tuple[str, str]]  # (type name, field text)
    fragments: str


def prepare(
    holes: list[Hole],
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> HoleFields:
    literals = _literals(schema, operation, variables)
    fields = [(hole.type_name, print_ast(_inline(_field_node(hole.selected), literals))) for hole in holes]
    printed = "\n".join(print_ast(_inline(fragment, literals)) for fragment in fragments.values())
    return HoleFields(fields, printed)


def _field_node(selected: Selected) -> FieldNode:
    node = selected.node
    selection_set = SelectionSetNode(selections=tuple(selected.selections)) if selected.selections else None
    return FieldNode(
        alias=NameNode(value=selected.key),
        name=node.name,
        arguments=node.arguments,
        directives=(),
        selection_set=selection_set,
    )


def _literals(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> dict[str, ValueNode]:
    """Each variable's value as a literal of its declared type."""
    literals: dict[str, ValueNode] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        input_type: Any = type_from_ast(schema, definition.type)
        literal = ast_from_value(variables.get(name), input_type) if is_input_type(input_type) else None
        if literal is not None:
            literals[name] = literal
    return literals


class _Inline(Visitor):
    def __init__(self, literals: Mapping[str, ValueNode]) -> None:
        super().__init__()
        self.literals = literals

    def enter_variable(self, node: VariableNode, *_args: Any) -> Any:
        return self.literals.get(node.name.value)


def _inline(node: Any, literals: Mapping[str, ValueNode]) -> Any:
    return visit(node, _Inline(literals))


async def fill(
    values: list[Any], fields: HoleFields, schema: GraphQLSchema, context: Any, context_class: Any
) -> bool:
    """Replace every marker in `values` (parsed node JSON, changed in place) by its field's value;
    False when that cannot be done exactly."""
    markers = list(_markers(values))
    if not markers:
        return True
    # One alias per (hole, object): the same object may show under two keys with other selections.
    wanted = dict.fromkeys((index, key) for _, _, index, key in markers)
    aliases = {pair: f"h{n}" for n, pair in enumerate(wanted)}
    body = " ".join(
        f"{alias}: node(id: {json.dumps(to_global_id(fields.fields[index][0], key))}) "
        f"{{ ... on {fields.fields[index][0]} {{ {fields.fields[index][1]} }} }}"
        for (index, key), alias in aliases.items()
    )
    document: DocumentNode = parse(f"query {{ {body} }}\n{fields.fragments}")
    result: Any = execute(
        schema, document, root_value=HOLE_ROOT, context_value=context, executor_class=context_class
    )
    if hasattr(result, "__await__"):
        result = await result
    if result.errors or result.data is None:
        return False
    for container, response_key, index, key in markers:
        parent = result.data.get(aliases[(index, key)])
        if parent is None:
            return False
        container[response_key] = parent[response_key]
    return True


def _markers(value: Any) -> Iterator[tuple[dict[str, Any], str, int, int]]:
    """(object, response key, hole index, parent id) of every marker below `value`."""
    if isinstance(value, list):
        for item in value:
            yield from _markers(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and HOLE_KEY in item and len(item) == 2:
                yield value, key, int(item[HOLE_KEY]), int(item["id"])
            else:
                yield from _markers(item)
