"""Compiled root fields and the plan cache.

A root field's resolver computes its values (the same ones its resolver path uses) and asks for a
compiled answer: `compiled_page` for a connection, `compiled_object` for one object. The plan (SQL
text and how to bind its parameters) is built once per (document, operation, response key, viewer
role, whether the viewer presents an API key, shape of the values, values of the other variables)
and reused; the request binds its own values, runs one statement and hands graphql-core the finished
value (`Precompleted`). When the selection cannot compile (the plan is None, also cached) the
resolver takes its ordinary path.

Node JSON text goes into the result as `orjson.Fragment`s: every encoder of results is orjson (the
view's `encode_json`, HTTP and websocket alike), which splices them in as they are.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import orjson
import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    parse,
)

from app.core.enums import Role
from app.core.errors import AppError
from schema.compiled import holes
from schema.compiled.compiler import Bindings, Compiler, Params
from schema.compiled.execution import Precompleted
from schema.compiled.holes import HoleFields
from schema.compiled.mapped import Mapped, type_name
from schema.compiled.pages import Page, shape
from schema.compiled.selection import Reader, Selected, Unsupported
from schema.context import Context, Info
from schema.core_schema import graphql_core_schema

MAX_PLANS = 2000


@dataclass(frozen=True)
class Plan:
    """One compiled statement: `n0` holds the JSON of each node (a page) or of the object."""

    sql: str
    params: Params
    layout: list[tuple[str, str, Any]] | None  # connection keys (None for an object)
    flat: bool = False  # an object built from its own row alone (no subquery)
    holes: HoleFields | None = None  # fields its resolvers fill in (holes.py)
    node_columns: int = 1  # columns n0, n1, ... of node JSON (one per `node` key of a page's edges)


_plans: OrderedDict[Hashable, Plan | None] = OrderedDict()


@dataclass(frozen=True)
class FieldRequest:
    """A root field being answered: what its plan is looked up and bound by. Built from the
    resolver's `Info` (`request_of`), or by the operation-level path (operations.py) without one."""

    context: Context
    schema: strawberry.Schema
    query: str | None
    operation: OperationDefinitionNode
    key: str
    variables: dict[str, Any]
    filling_holes: bool = False


def request_of(info: Info) -> FieldRequest:
    return FieldRequest(
        info.context,
        info.schema,
        info.query,
        info.operation,
        str(info.path.key),
        dict(info.variable_values),
        info.root_value is holes.HOLE_ROOT,
    )


async def compiled_page(
    info: Info | FieldRequest, page: Page, values: dict[str, Any], *, size: int, has_previous: bool
) -> tuple[Precompleted, list[Any]] | None:
    """The connection value of the current field and its records (with the keyset columns), or None
    when its selection does not compile. `values` are the page statement's arguments."""
    request = info if isinstance(info, FieldRequest) else request_of(info)
    found = _plan_for(request, page, values, lambda root: _page_plan(root, page, values))
    if found is None:
        return None
    plan, bindings = found
    records = await request.context.db.fetch_raw(plan.sql, *plan.params.bind(bindings))
    assert plan.layout is not None
    page_records = records[:size]
    texts = [record[f"n{column}"] for column in range(plan.node_columns) for record in page_records]
    node_values = await _node_values(request, plan, texts)
    if node_values is None:
        return None
    width = len(page_records)
    nodes = [node_values[column * width : (column + 1) * width] for column in range(plan.node_columns)]
    value = _connection_value(plan.layout, records, page, size, has_previous, nodes)
    return Precompleted(value), records


async def compiled_object(
    info: Info | FieldRequest, cls: type[Mapped], values: dict[str, Any], *, row_in_hand: bool = False
) -> Precompleted | None:
    """The current field's object: the row of `cls` whose id is `values["id"]` (null when there is
    none or the viewer may not see it), or None when its selection does not compile. With
    `row_in_hand` the caller has the row already: a selection of its own columns only is left to it."""
    request = info if isinstance(info, FieldRequest) else request_of(info)
    found = _plan_for(request, cls, values, lambda root: _object_plan(root, cls))
    if found is None:
        return None
    plan, bindings = found
    if row_in_hand and plan.flat and plan.holes is None:
        return None
    records = await request.context.db.fetch_raw(plan.sql, *plan.params.bind(bindings))
    text = records[0]["n0"] if records else None
    nodes = await _node_values(request, plan, [text] if text is not None else [])
    if nodes is None:
        return None
    return Precompleted(nodes[0] if nodes else None)


async def compiled_list(info: Info | FieldRequest, page: Page, values: dict[str, Any]) -> Precompleted | None:
    """The current field's list: every row of `page`'s statement in its order (`page.keyset` names
    the order's columns), or None when its selection does not compile."""
    request = info if isinstance(info, FieldRequest) else request_of(info)
    found = _plan_for(request, page, values, lambda root: _list_plan(root, page, values))
    if found is None:
        return None
    plan, bindings = found
    records = await request.context.db.fetch_raw(plan.sql, *plan.params.bind(bindings))
    nodes = await _node_values(request, plan, [record["n0"] for record in records])
    return None if nodes is None else Precompleted(nodes)


async def _node_values(request: FieldRequest, plan: Plan, texts: list[str]) -> list[Any] | None:
    """Each node's JSON as a fragment spliced into the response, or parsed and with its holes
    filled; None when the holes cannot be filled exactly."""
    if plan.holes is None:
        return [orjson.Fragment(text) for text in texts]
    values = [orjson.loads(text) for text in texts]
    schema = request.schema
    filled = await holes.fill(
        values, plan.holes, graphql_core_schema(schema), request.context, schema.execution_context_class
    )
    return values if filled else None


@dataclass(frozen=True)
class _Root:
    """The current root field, read from its document."""

    compiler: Compiler
    selected: Selected


def _plan_for(
    request: FieldRequest, target: object, values: dict[str, Any], build: Any
) -> tuple[Plan, Bindings] | None:
    context = request.context
    if not context.settings.compiled_reads or request.filling_holes:
        return None
    try:
        viewer = context.optional_viewer()
    except AppError:
        return None  # the resolver path reports the credentials' problem
    query = request.query
    if query is None:
        return None
    role = Role(viewer.role) if viewer is not None else None
    api_key = context.auth_method == "api_key"
    variables = request.variables
    operation = request.operation.name.value if request.operation.name else None
    key_name = request.key
    own = _root_variables(query, operation, key_name)
    others = tuple(sorted((k, _freeze(v)) for k, v in variables.items() if k not in own))
    key = (query, operation, key_name, target, role, api_key, shape(values), others)
    try:
        hash(key)
    except TypeError:
        return None
    if key in _plans:
        _plans.move_to_end(key)
        plan = _plans[key]
    else:
        plan = _compile(request, query, operation, key_name, variables, role, api_key, build)
        _plans[key] = plan
        while len(_plans) > MAX_PLANS:
            _plans.popitem(last=False)
    if plan is None:
        return None
    return plan, Bindings(viewer.id if viewer else None, context.now(), values)


def _compile(
    request: FieldRequest,
    query: str,
    operation: str | None,
    key_name: str,
    variables: dict[str, Any],
    role: Role | None,
    api_key: bool,
    build: Any,
) -> Plan | None:
    document = document_of(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    reader = Reader(fragments, variables)
    compiler = Compiler(reader, Params(), role, request.context.settings, holes=[], api_key=api_key)
    try:
        root = reader.fields(_operation_selections(document, operation), "Query").get(key_name)
        if root is None:
            return None
        plan: Plan = build(_Root(compiler, root))
    except Unsupported:
        return None
    if not compiler.holes:
        return plan
    schema = graphql_core_schema(request.schema)
    fields = holes.prepare(compiler.holes, schema, request.operation, fragments, variables)
    return replace(plan, holes=fields)


def _page_plan(root: _Root, page: Page, values: dict[str, Any]) -> Plan:
    compiler, reader = root.compiler, root.compiler.reader
    connection = f"{type_name(page.node)}Connection"
    edge_name = f"{type_name(page.node)}Edge"
    node_sql: list[str] = []
    layout: list[tuple[str, str, Any]] = []
    for key, part in reader.fields(root.selected.selections, connection).items():
        if part.name == "__typename":
            layout.append((key, "typename", connection))
        elif part.name == "edges":
            edge_layout: list[tuple[str, str, Any]] = []
            for edge_key, edge_part in reader.fields(part.selections, edge_name).items():
                if edge_part.name == "__typename":
                    edge_layout.append((edge_key, "typename", edge_name))
                elif edge_part.name == "cursor":
                    edge_layout.append((edge_key, "cursor", None))
                elif edge_part.name == "node":
                    node_sql.append(compiler.object(page.node, "p", edge_part.selections))
                    edge_layout.append((edge_key, "node", len(node_sql) - 1))
                else:
                    raise Unsupported(edge_part.name)
            layout.append((key, "edges", edge_layout))
        elif part.name == "pageInfo":
            fields = reader.fields(part.selections, "PageInfo")
            layout.append((key, "pageInfo", [(k, p.name, "PageInfo") for k, p in fields.items()]))
        else:
            raise Unsupported(part.name)
    rows = page.statement_sql(compiler.params, values, {})
    # The keyset columns (callers read them, e.g. the board's start times) and the cursor, made by
    # PostgreSQL like every other value (`encodings.cursor` equals `schema.ids.encode_cursor`).
    keys = "".join(f"p.{name}, " for name in page.keyset) + f"{page.cursor_sql('p')} AS cursor, "
    columns = "".join(f", ({node})::text AS n{i}" for i, node in enumerate(node_sql))
    sql = f"SELECT {keys.rstrip(', ')}{columns} FROM ({rows}) p ORDER BY {page.order_sql('p')}"
    return Plan(sql, compiler.params, layout, node_columns=len(node_sql))


def _list_plan(root: _Root, page: Page, values: dict[str, Any]) -> Plan:
    compiler = root.compiler
    body = compiler.object(page.node, "p", root.selected.selections)
    rows = page.statement_sql(compiler.params, values, {})
    sql = f"SELECT ({body})::text AS n0 FROM ({rows}) p ORDER BY {page.order_sql('p')}"
    return Plan(sql, compiler.params, None)


def _object_plan(root: _Root, cls: type[Mapped]) -> Plan:
    compiler = root.compiler
    body = compiler.visible_object(cls, "p", root.selected.selections)
    key = compiler.params.value("id", "bigint")
    sql = f"SELECT ({body})::text AS n0 FROM {cls.__model__.__tablename__} p WHERE p.id = {key}"
    return Plan(sql, compiler.params, None, flat=compiler.alias_count == 0)


def _connection_value(
    layout: list[tuple[str, str, Any]],
    records: Sequence[Any],
    page: Page,
    size: int,
    has_previous: bool,
    nodes: list[list[Any]],
) -> dict[str, Any]:
    rows = records[:size]
    cursors = [record["cursor"] for record in rows]
    page_info = {
        "hasNextPage": len(records) > size,
        "hasPreviousPage": has_previous,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }
    value: dict[str, Any] = {}
    for key, kind, detail in layout:
        if kind == "typename":
            value[key] = detail
        elif kind == "pageInfo":
            value[key] = {
                k: type_name if name == "__typename" else page_info[name] for k, name, type_name in detail
            }
        else:
            value[key] = [_edge(detail, nodes, row, cursor) for row, cursor in enumerate(cursors)]
    return value


def _edge(
    layout: list[tuple[str, str, Any]], nodes: list[list[Any]], row: int, cursor: str
) -> dict[str, Any]:
    edge: dict[str, Any] = {}
    for key, kind, detail in layout:
        if kind == "typename":
            edge[key] = detail
        elif kind == "cursor":
            edge[key] = cursor
        else:
            edge[key] = nodes[detail][row]
    return edge


@lru_cache(maxsize=MAX_PLANS)
def document_of(query: str) -> DocumentNode:
    """The parsed document (parsed once per text)."""
    return parse(query)


def _operation_selections(document: DocumentNode, operation: str | None) -> list[Any]:
    for definition in document.definitions:
        name = getattr(definition, "name", None)
        if getattr(definition, "operation", None) is not None and (name.value if name else None) == operation:
            return list(definition.selection_set.selections)  # type: ignore[attr-defined]
    raise Unsupported("operation")


@lru_cache(maxsize=MAX_PLANS)
def _root_variables(query: str, operation: str | None, key_name: str) -> frozenset[str]:
    """Variables used in the arguments of the root fields answering to `key_name` (bound per
    request, so not part of the plan's key)."""
    names: set[str] = set()
    document = document_of(query)
    for node in _field_nodes(_operation_selections(document, operation), document, key_name):
        for argument in node.arguments or ():
            names.update(_variables_in(argument.value))
    return frozenset(names)


def _field_nodes(selections: Iterable[Any], document: DocumentNode, key_name: str) -> list[FieldNode]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    found: list[FieldNode] = []
    pending = list(selections)
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            if (selection.alias or selection.name).value == key_name:
                found.append(selection)
        elif getattr(selection, "selection_set", None) is not None:
            pending.extend(selection.selection_set.selections)
        elif selection.name.value in fragments:
            pending.extend(fragments[selection.name.value].selection_set.selections)
    return found


def _variables_in(value: ValueNode) -> set[str]:
    if isinstance(value, VariableNode):
        return {value.name.value}
    found: set[str] = set()
    for child in getattr(value, "values", None) or ():
        found |= _variables_in(child)
    for child in getattr(value, "fields", None) or ():
        found |= _variables_in(child.value)
    return found


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value
