"""Keyset pages, declared once and used by both paths.

A `Page` names a list's rows by the statement builder its domain operation uses (resolvers/...), its
node type and its keyset order. The resolver path runs the statement with the request's values; the
compiled path builds it once per shape with bound parameters in their place and wraps it to build
each node's JSON (plans.py), or aggregates it into a whole connection inside another object
(`connection_sql`). Builders must branch only on whether a value is None (a placeholder stands for
every other value) and take values SQLAlchemy accepts as bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, Select, Text, bindparam
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.sql.elements import ColumnElement
from strawberry import relay

from schema.compiled.compiler import Compiler, Params
from schema.compiled.encodings import cursor
from schema.compiled.mapped import Mapped, type_name
from schema.compiled.selection import Selected, Unsupported
from schema.ids import encode_cursor
from schema.pagination import build_connection

_DIALECT: Any = asyncpg.dialect()  # type: ignore[no-untyped-call]
_PARAMETER = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Page:
    """Rows of `node`'s table from `statement(**values)`, ordered by the `keyset` columns (ascending,
    or all descending); cursors hold those columns."""

    node: type[Mapped]
    statement: Callable[..., Select[Any]]
    keyset: tuple[str, ...]
    descending: bool = False
    order: Callable[[str], str] | None = None  # the statement's ORDER BY over an alias, when not the keyset

    def cursor_of(self, row: Any) -> str:
        values = (getattr(row, name) for name in self.keyset)
        return encode_cursor(*(v.isoformat() if isinstance(v, datetime) else v for v in values))

    def connection(self, rows: Sequence[Any], size: int, *, has_previous: bool) -> relay.Connection[Any]:
        """The resolver path's connection of rows fetched with LIMIT size + 1."""
        nodes = [self.node.from_row(row) for row in rows]
        return build_connection(nodes, size, lambda node: self.cursor_of(node.row), has_previous=has_previous)

    def order_sql(self, alias: str) -> str:
        if self.order is not None:
            return self.order(alias)
        direction = " DESC" if self.descending else ""
        return ", ".join(f"{alias}.{name}{direction}" for name in self.keyset)

    def cursor_sql(self, alias: str) -> str:
        columns = self.node.__model__.__table__.c
        return cursor([(f"{alias}.{name}", isinstance(columns[name].type, DateTime)) for name in self.keyset])

    def statement_sql(self, params: Params, values: dict[str, Any], fixed: dict[str, Any]) -> str:
        """The page statement for the shape of `values` (root values, bound per request) and `fixed`
        (values known when compiling, e.g. a parent row's column), renumbered into `params`."""
        placeholders = {name: _placeholder(name, value) for name, value in values.items()}
        bound = {name for name, value in values.items() if not isinstance(value, bool)}
        compiled = self.statement(**placeholders, **fixed).compile(dialect=_DIALECT)
        names = compiled.positiontup or []
        constants = compiled.params
        numbers: list[str] = []
        for name in names:
            root, _, index = name.partition("__")
            if root in bound:
                numbers.append(params.raw(_element(root, index)))
            else:
                numbers.append(params.raw(_constant(constants[name])))
        return _PARAMETER.sub(lambda match: numbers[int(match.group(1)) - 1], compiled.string)


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _bindings: value


def _element(name: str, index: str) -> Callable[[Any], Any]:
    if index:
        position = int(index)
        return lambda bindings: bindings.values[name][position]
    return lambda bindings: bindings.values[name]


def shape(values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What a compiled page statement depends on: which values are None, and the booleans (builders
    may branch on them; every other value becomes a bound parameter)."""
    return tuple(
        (name, value if isinstance(value, bool) else value is None) for name, value in values.items()
    )


def _placeholder(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, tuple):
        return tuple(bindparam(f"{name}__{i}", type_=_sql_type(v)) for i, v in enumerate(value))
    return bindparam(name, type_=_sql_type(value))


def _sql_type(value: Any) -> Any:
    if isinstance(value, bool):
        return Boolean()
    if isinstance(value, int):
        return BigInteger()
    if isinstance(value, datetime):
        return DateTime(timezone=True)
    if isinstance(value, str):
        return Text()
    if isinstance(value, list | frozenset):
        return ARRAY(Text())
    raise Unsupported(type(value).__name__)


@dataclass(frozen=True)
class NestedPage:
    """A page of child rows inside a compiled object: `page.statement` with the parent's key column
    correlated (`parent_key` names the builder's argument)."""

    page: Page
    parent_key: str
    size: int
    values: dict[str, Any]
    has_previous: bool
    newest_last: bool = False  # `last: n`: the page's newest rows, shown in ascending order

    def sql(self, compiler: Compiler, parent: ColumnElement[Any], selected: Selected) -> str:
        """`(SELECT <connection JSON> FROM (<page>) ...)` for the selection of the connection field."""
        m = compiler.alias()
        fixed = {self.parent_key: parent, **self.values}
        rows = self.page.statement_sql(compiler.params, {}, fixed)
        size, page = self.size, self.page
        kept = f"{m}.__rn <= {size}"
        first, last = f"{m}.__rn = 1 AND {kept}", f"{m}.__rn = least({m}.__n, {size})"
        if self.newest_last:
            first, last = last, first
        more = f"coalesce(max({m}.__n), 0) > {size}"
        has_previous = "true" if self.has_previous else "false"
        info_values = {
            "hasNextPage": "false" if self.newest_last else more,
            "hasPreviousPage": f"({more} OR {has_previous})" if self.newest_last else has_previous,
            "startCursor": f"min({page.cursor_sql(m)}) FILTER (WHERE {first})",
            "endCursor": f"min({page.cursor_sql(m)}) FILTER (WHERE {last})",
        }
        order = f"{m}.__rn DESC" if self.newest_last else f"{m}.__rn"

        def edge_field(part: Selected) -> str:
            if part.name == "cursor":
                return page.cursor_sql(m)
            if part.name == "node":
                return compiler.object(page.node, m, part.selections)
            raise Unsupported(part.name)

        def connection_field(part: Selected) -> str:
            if part.name == "edges":
                edge = compiler.build(part.selections, _edge_name(page.node), edge_field)
                return f"coalesce(json_agg({edge} ORDER BY {order}) FILTER (WHERE {kept}), '[]'::json)"
            if part.name == "pageInfo":
                return compiler.build(part.selections, "PageInfo", lambda p: _page_info(info_values, p))
            raise Unsupported(part.name)

        body = compiler.build(selected.selections, _connection_name(page.node), connection_field)
        ranked = (
            f"SELECT r.*, row_number() OVER (ORDER BY {page.order_sql('r')}) AS __rn, "
            f"count(*) OVER () AS __n FROM ({rows}) r"
        )
        return f"(SELECT {body} FROM ({ranked}) {m})"


def _page_info(values: dict[str, str], part: Selected) -> str:
    if part.name not in values:
        raise Unsupported(part.name)
    return values[part.name]


def _connection_name(node: type[Mapped]) -> str:
    return f"{type_name(node)}Connection"


def _edge_name(node: type[Mapped]) -> str:
    return f"{type_name(node)}Edge"
