"""Hot connections answered by one SQL statement that builds the node JSON (see sql_projection.py).

`compiled_connection` returns the finished value of a connection field (a `Precompleted` that the
execution context passes through untouched) or None when the selection is not fully compilable, in
which case the resolver takes its ordinary path. The page itself (filters, keyset, LIMIT size + 1,
cursors, pageInfo) follows `schema.pagination.build_connection`. Node JSON text goes into the
result as `orjson.Fragment`s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from graphql import get_named_type

from schema.context import Info
from schema.execution.fast_execution import Precompleted
from schema.execution.selection import Reader, Unsupported
from schema.execution.sql_projection import Compiler, Query

PageSql = Callable[[Query, list[str]], str]  # (parameters, node JSON columns over alias "p") -> SQL
CursorOf = Callable[[Any], str]


def reader_of(info: Info) -> Reader:
    raw = info._raw_info
    variables: Any = raw.variable_values
    # Strawberry hands resolvers graphql-core's coerced values (a plain dict).
    return Reader(raw.fragments, getattr(variables, "coerced", variables))


def compiler_of(info: Info, query: Query, **options: Any) -> Compiler:
    return Compiler(info._raw_info.schema, reader_of(info), query, **options)


async def compiled_connection(
    info: Info,
    compiler: Compiler,
    node_type: str,
    page_sql: PageSql,
    *,
    size: int,
    has_previous: bool,
    cursor_of: CursorOf,
) -> tuple[Precompleted, list[Any]] | None:
    """The connection value of the current field and the page's records (`id`, `starts_at`, ...),
    or None when its selection is not compilable."""
    raw = info._raw_info
    connection = get_named_type(raw.return_type)
    selections = [s for node in raw.field_nodes if node.selection_set for s in node.selection_set.selections]
    reader = compiler.reader
    nodes: list[str] = []
    shape: list[tuple[str, str, Any]] = []
    try:
        for key, part in reader.fields(selections, connection.name).items():
            if part.name == "__typename":
                shape.append((key, "typename", connection.name))
            elif part.name == "edges":
                edge = compiler.type_of(connection.name, "edges")
                edge_shape: list[tuple[str, str, Any]] = []
                for edge_key, edge_part in reader.fields(part.selections, edge.name).items():
                    if edge_part.name == "__typename":
                        edge_shape.append((edge_key, "typename", edge.name))
                    elif edge_part.name == "cursor":
                        edge_shape.append((edge_key, "cursor", None))
                    elif edge_part.name == "node":
                        nodes.append(compiler.object(node_type, "p", edge_part.selections))
                        edge_shape.append((edge_key, "node", len(nodes) - 1))
                    else:
                        raise Unsupported(edge_part.name)
                shape.append((key, "edges", edge_shape))
            elif part.name == "pageInfo":
                page_info = compiler.type_of(connection.name, "pageInfo")
                fields = reader.fields(part.selections, page_info.name)
                shape.append((key, "pageInfo", [(k, p.name, page_info.name) for k, p in fields.items()]))
            else:
                raise Unsupported(part.name)
    except Unsupported:
        return None
    records = await info.context.db.fetch_raw(page_sql(compiler.query, nodes), *compiler.query.params)
    return Precompleted(_connection_value(shape, records, size, has_previous, cursor_of)), records


def _connection_value(
    shape: list[tuple[str, str, Any]],
    records: Sequence[Any],
    size: int,
    has_previous: bool,
    cursor_of: CursorOf,
) -> dict[str, Any]:
    page = records[:size]
    cursors = [cursor_of(record) for record in page]
    page_info = {
        "hasNextPage": len(records) > size,
        "hasPreviousPage": has_previous,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }
    value: dict[str, Any] = {}
    for key, kind, detail in shape:
        if kind == "typename":
            value[key] = detail
        elif kind == "pageInfo":
            value[key] = {
                k: type_name if name == "__typename" else page_info[name] for k, name, type_name in detail
            }
        else:
            value[key] = [_edge(detail, record, cursor) for record, cursor in zip(page, cursors, strict=True)]
    return value


def _edge(shape: list[tuple[str, str, Any]], record: Any, cursor: str) -> dict[str, Any]:
    edge: dict[str, Any] = {}
    for key, kind, detail in shape:
        if kind == "typename":
            edge[key] = detail
        elif kind == "cursor":
            edge[key] = cursor
        else:
            # Spliced into the response as is by orjson (every encoder of results is the view's
            # orjson `encode_json`, HTTP and websocket alike): no parse and re-encode.
            edge[key] = orjson.Fragment(record[f"n{detail}"])
    return edge
