"""Compile the node selection of a hot list (board slots, "my interviews") into one SQL expression
that builds each node's response JSON in PostgreSQL, as PostGraphile does.

Only fields whose value is a pure function of columns (and of the viewer or the clock, passed as
parameters) are compiled, each mirroring its resolver's serialisation exactly: Relay ids are
base64("Type:id"), DateTime is Python's `isoformat()` of a UTC datetime, enums are their stored
names, cursors are `schema.ids`' encodings. Any other field, directive or argument raises
`Unsupported` and the resolver runs the ordinary path; tests/test_compiled_reads.py compares the
two paths on the same data.

Response keys are GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`, guaranteed by the parser), so they are
written into the SQL as literals; every value comes in as a numbered parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLNamedType, GraphQLObjectType, GraphQLSchema, get_named_type

from app.core.enums import SlotStatus
from schema.execution.selection import Reader, Selected, Unsupported

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")
_MAX_KEYS = 50  # json_build_object takes at most 100 arguments


def iso(column: str) -> str:
    """`datetime.isoformat()` of a timestamptz as Python prints it for UTC (microseconds only when
    non-zero, '+00:00')."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || '+00:00' END"
    )


def node_id(type_name: str, column: str) -> str:
    """`GlobalID(type_name, id)` as Strawberry serialises it: standard base64 of 'Type:id'."""
    return f"translate(encode(convert_to('{type_name}:' || {column}, 'UTF8'), 'base64'), E'\\n', '')"


def message_cursor(column: str) -> str:
    """`encode_cursor(id)`: urlsafe base64 of the JSON array '[id]'."""
    return f"translate(encode(convert_to('[' || {column} || ']', 'UTF8'), 'base64'), E'+/\\n', '-_')"


@dataclass
class Query:
    """Numbered parameters of the statement being built."""

    params: list[Any] = field(default_factory=list)

    def param(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        return f"${len(self.params)}::{sql_type}"


Column = Callable[[str], str]  # table alias -> SQL expression


@dataclass(frozen=True)
class Compiler:
    """Builds JSON expressions for the selections of one operation."""

    schema: GraphQLSchema
    reader: Reader
    query: Query
    viewer_id: int | None = None
    now: Any = None
    message_page: Callable[[int | None, str | None, int | None], tuple[int, int | None, bool]] | None = None
    _depth: list[int] = field(default_factory=lambda: [0])

    def object(self, type_name: str, alias: str, selections: list[Any]) -> str:
        """`json_build_object(...)` of the selected fields of the row `alias` of `type_name`."""
        columns = _COLUMNS.get(type_name)
        if columns is None:
            raise Unsupported(type_name)
        return self.build(selections, type_name, lambda part: self._field(type_name, alias, part, columns))

    def build(self, selections: list[Any], type_name: str, value_of: Callable[[Selected], str]) -> str:
        """`json_build_object` of the response keys selected on `type_name` (`__typename` included),
        with `value_of` giving each field's SQL."""
        fields = self.reader.fields(selections, type_name)
        if len(fields) > _MAX_KEYS:
            raise Unsupported("too many fields")
        pairs = []
        for key, part in fields.items():
            if not _NAME.match(key):
                raise Unsupported(key)
            value = f"'{type_name}'" if part.name == "__typename" else value_of(part)
            pairs.append(f"'{key}', {value}")
        return f"json_build_object({', '.join(pairs)})"

    def _field(self, type_name: str, alias: str, selected: Selected, columns: dict[str, Column]) -> str:
        name = selected.name
        if selected.node.arguments and name != "messages":
            raise Unsupported(name)
        if name == "id":
            return node_id(type_name, f"{alias}.id")
        column = columns.get(name)
        if column is not None:
            return column(alias)
        relation = _RELATIONS.get((type_name, name))
        if relation is not None:
            target, table, foreign_key = relation
            inner = self._alias()
            body = self.object(target, inner, selected.selections)
            return f"(SELECT {body} FROM {table} {inner} WHERE {inner}.id = {alias}.{foreign_key})"
        if (type_name, name) == ("Interview", "isArchived") and self.viewer_id is not None:
            viewer = self.query.param(self.viewer_id, "bigint")
            return (
                f"(CASE WHEN {alias}.interviewer_id = {viewer} THEN {alias}.archived_by_interviewer "
                f"ELSE {alias}.candidate_id = {viewer} AND {alias}.archived_by_candidate END)"
            )
        if (type_name, name) == ("Slot", "isOpen") and self.now is not None:
            now = self.query.param(self.now, "timestamptz")
            return f"({alias}.status = '{SlotStatus.OPEN.value}' AND {alias}.starts_at > {now})"
        if (type_name, name) == ("Interview", "messages") and self.message_page is not None:
            return self._messages(alias, selected)
        raise Unsupported(f"{type_name}.{name}")

    def _messages(self, alias: str, selected: Selected) -> str:
        """`Interview.messages(first, after, last)` for an interview the viewer takes part in."""
        assert self.message_page is not None
        reader = self.reader
        first, after, last = (reader.argument(selected.node, a) for a in ("first", "after", "last"))
        if not isinstance(after, str | None):
            raise Unsupported("after")
        size, after_id, newest = self.message_page(first, after, last)
        connection = self.type_of("Interview", "messages")
        edge = self.type_of(connection.name, "edges")
        page_info = self.type_of(connection.name, "pageInfo")
        m = self._alias()
        kept = f"{m}.rn <= {size}"
        extra = f"count(*) > {size}"
        has_after = "true" if after_id is not None else "false"
        info_values = {
            "hasNextPage": "false" if newest else extra,
            "hasPreviousPage": f"({extra} OR {has_after})" if newest else has_after,
            "startCursor": message_cursor(f"min({m}.id) FILTER (WHERE {kept})"),
            "endCursor": message_cursor(f"max({m}.id) FILTER (WHERE {kept})"),
        }

        def edge_field(part: Selected) -> str:
            if part.name == "cursor":
                return message_cursor(f"{m}.id")
            if part.name == "node":
                return self.object("Message", m, part.selections)
            raise Unsupported(part.name)

        def page_info_field(part: Selected) -> str:
            if part.name not in info_values:
                raise Unsupported(part.name)
            return info_values[part.name]

        def connection_field(part: Selected) -> str:
            if part.name == "edges":
                edge_object = self.build(part.selections, edge.name, edge_field)
                return f"coalesce(json_agg({edge_object} ORDER BY {m}.id) FILTER (WHERE {kept}), '[]'::json)"
            if part.name == "pageInfo":
                return self.build(part.selections, page_info.name, page_info_field)
            raise Unsupported(part.name)

        body = self.build(selected.selections, connection.name, connection_field)
        order = "DESC" if newest else "ASC"
        after_filter = f" AND id > {self.query.param(after_id, 'bigint')}" if after_id is not None else ""
        limit = self.query.param(size + 1, "bigint")
        rows = (
            f"SELECT id, body, created_at, row_number() OVER (ORDER BY id {order}) AS rn "
            f"FROM (SELECT id, body, created_at FROM messages WHERE interview_id = {alias}.id"
            f"{after_filter} ORDER BY id {order} LIMIT {limit}) newest"
        )
        return f"(SELECT {body} FROM ({rows}) {m})"

    def type_of(self, type_name: str, field_name: str) -> GraphQLNamedType:
        parent = self.schema.type_map.get(type_name)
        if not isinstance(parent, GraphQLObjectType) or field_name not in parent.fields:
            raise Unsupported(f"{type_name}.{field_name}")
        named: GraphQLNamedType = get_named_type(parent.fields[field_name].type)
        return named

    def _alias(self) -> str:
        self._depth[0] += 1
        return f"t{self._depth[0]}"


def _plain(column: str) -> Column:
    return lambda alias: f"{alias}.{column}"


def _time(column: str) -> Column:
    return lambda alias: iso(f"{alias}.{column}")


def _minutes(alias: str) -> str:
    # int((ends_at - starts_at).total_seconds() // 60)
    return f"floor(extract(epoch FROM ({alias}.ends_at - {alias}.starts_at)) / 60)::bigint"


# Fields that are a column (or a function of columns) of the type's row, named as in GraphQL.
_COLUMNS: dict[str, dict[str, Column]] = {
    "User": {
        "displayName": _plain("display_name"),
        "role": _plain("role"),
        "timezone": _plain("timezone"),
        "bio": _plain("bio"),
        "createdAt": _time("created_at"),
    },
    "Specialization": {"name": _plain("name")},
    "Message": {"body": _plain("body"), "createdAt": _time("created_at")},
    "Interview": {
        "status": _plain("status"),
        "startsAt": _time("starts_at"),
        "endsAt": _time("ends_at"),
        "createdAt": _time("created_at"),
        "startedAt": _time("started_at"),
        "completedAt": _time("completed_at"),
        "cancelledAt": _time("cancelled_at"),
        "cancelReason": _plain("cancel_reason"),
        "durationMinutes": _minutes,
    },
    "Slot": {
        "startsAt": _time("starts_at"),
        "endsAt": _time("ends_at"),
        "durationMinutes": _plain("duration_minutes"),
        "title": _plain("title"),
        "description": _plain("description"),
        "status": _plain("status"),
        "createdAt": _time("created_at"),
    },
}

# (type, field) -> (target type, table, foreign key column on the source row)
_RELATIONS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("Interview", "interviewer"): ("User", "users", "interviewer_id"),
    ("Interview", "candidate"): ("User", "users", "candidate_id"),
    ("Interview", "specialization"): ("Specialization", "specializations", "specialization_id"),
    ("Slot", "host"): ("User", "users", "host_id"),
    ("Slot", "specialization"): ("Specialization", "specializations", "specialization_id"),
}
