"""Compile a selection on a mapped type into one SQL expression that builds its response JSON.

Each field compiles from its declaration (mapped.py): a column field reads its column, `relation`
fields build the target object in a correlated subquery, `sql(...)` and `sql_connection(...)` fields
give their own SQL. Permission directives are decided at compile time from the viewer's role (part of
every plan's key); object-level visibility is the type's `sql_visible` condition. Anything else (a
field with no SQL form, an unknown directive, a type condition on another type) raises `Unsupported`
and the field's resolver runs instead (the caller decides how much falls back).

Response keys are GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`, guaranteed by the parser), so they are
written into the SQL as literals; every value comes in as a numbered parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import SelectionNode
from strawberry import relay
from strawberry.permission import PermissionExtension
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from app.core.enums import STAFF_ROLES, Role
from app.core.settings import Settings
from schema.compiled.encodings import iso, node_id
from schema.compiled.holes import HOLE_KEY, Hole
from schema.compiled.mapped import SQL_KEY, Mapped, Relation, columns_of, graphql_name, target_of, type_name
from schema.compiled.selection import Reader, Selected, Unsupported
from schema.permissions import IsAuthenticated, RequiresRole

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")
_MAX_KEYS = 50  # json_build_object takes at most 100 arguments
_PLAIN_SCALARS = (int, str, bool, float)

Source = Callable[["Bindings"], Any]


@dataclass(frozen=True)
class Bindings:
    """What one request gives a compiled plan: the viewer, the clock and the root field's values."""

    viewer_id: int | None
    now: datetime
    values: dict[str, Any]


@dataclass
class Params:
    """The numbered parameters of a statement being compiled, as functions of the request."""

    sources: list[Source] = field(default_factory=list)
    _shared: dict[str, str] = field(default_factory=dict)

    def add(self, source: Source, sql_type: str) -> str:
        self.sources.append(source)
        return f"${len(self.sources)}::{sql_type}"

    def raw(self, source: Source) -> str:
        """A parameter without a cast (the SQL around it has one)."""
        self.sources.append(source)
        return f"${len(self.sources)}"

    def constant(self, value: Any, sql_type: str) -> str:
        return self.add(lambda _bindings: value, sql_type)

    def value(self, name: str, sql_type: str) -> str:
        """The root field's value `name` (one parameter however often it is used)."""
        return self._once(f"value:{name}", lambda: self.add(lambda b: b.values[name], sql_type))

    def viewer(self) -> str:
        return self._once("viewer", lambda: self.add(lambda b: b.viewer_id, "bigint"))

    def now(self) -> str:
        return self._once("now", lambda: self.add(lambda b: b.now, "timestamptz"))

    def _once(self, key: str, make: Callable[[], str]) -> str:
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def mark(self) -> tuple[int, dict[str, str]]:
        return len(self.sources), dict(self._shared)

    def reset(self, mark: tuple[int, dict[str, str]]) -> None:
        """Forget the parameters added since `mark` (a field that did not compile after all)."""
        del self.sources[mark[0] :]
        self._shared = dict(mark[1])

    def bind(self, bindings: Bindings) -> list[Any]:
        return [source(bindings) for source in self.sources]


@dataclass
class Compiler:
    """Builds JSON expressions for the selections of one operation, for one kind of viewer."""

    reader: Reader
    params: Params
    role: Role | None  # None: anonymous
    settings: Settings
    # Fields left to their resolvers inside compiled objects (holes.py); None: the whole selection
    # must compile.
    holes: list[Hole] | None = None
    # The viewer presents an API key, not a session: some objects are shown to sessions only.
    api_key: bool = False
    _aliases: list[int] = field(default_factory=lambda: [0])

    @property
    def alias_count(self) -> int:
        """How many subqueries the compiled SQL has."""
        return self._aliases[0]

    def alias(self) -> str:
        self._aliases[0] += 1
        return f"t{self._aliases[0]}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def object(self, cls: type[Mapped], alias: str, selections: Sequence[SelectionNode]) -> str:
        """`json_build_object(...)` of the selection on the row `alias` of `cls`'s table."""
        fields = _fields_of(cls)
        return self.build(
            selections,
            type_name(cls),
            lambda part: self._field_or_hole(fields, Scope(self, cls, alias, part), part),
        )

    def _field_or_hole(self, fields: dict[str, StrawberryField], scope: Scope, selected: Selected) -> str:
        """The field's SQL; when it has none, a hole its resolver fills (only below an object with an
        id, so that the resolver can find the object again)."""
        mark = self.params.mark()
        try:
            return self._field(fields, scope, selected)
        except Unsupported:
            if self.holes is None or not issubclass(scope.cls, relay.Node):
                raise
            self.params.reset(mark)
            self.holes.append(Hole(scope.type_name, selected))
            return f"json_build_object('{HOLE_KEY}', {len(self.holes) - 1}, 'id', {scope.column('id')})"

    def visible_object(self, cls: type[Mapped], alias: str, selections: Sequence[SelectionNode]) -> str:
        """`object(...)`, NULL where the viewer may not see it: the type's `sql_visible` rule, which
        every type reached by id (a root field, `node`, a relation) declares beside its Python rule."""
        visible: Callable[[Scope], str] | None = getattr(cls, "sql_visible", None)
        if visible is None:
            raise Unsupported(f"{type_name(cls)} visibility")
        condition = visible(Scope(self, cls, alias, None))
        body = self.object(cls, alias, selections)
        if condition == "true":
            return body
        return f"CASE WHEN {condition} THEN {body} END"

    def related(self, cls: type[Mapped], key_sql: str, selections: Sequence[SelectionNode]) -> str:
        """The object of `cls` whose id is `key_sql`, as a correlated subquery."""
        inner = self.alias()
        body = self.visible_object(cls, inner, selections)
        return f"(SELECT {body} FROM {cls.__model__.__tablename__} {inner} WHERE {inner}.id = {key_sql})"

    def related_list(
        self,
        cls: type[Mapped],
        from_sql: str,
        where: Callable[[str], str],
        order: Callable[[str], str],
        selected: Selected,
    ) -> str:
        """`[...]` of the objects of `cls` in `from_sql` (aliased by the given alias) that match `where`,
        in `order`, as a correlated subquery."""
        inner = self.alias()
        body = self.object(cls, inner, selected.selections)
        return (
            f"(SELECT coalesce(json_agg({body} ORDER BY {order(inner)}), '[]'::json) "
            f"FROM {from_sql} {inner} WHERE {where(inner)})"
        )

    def build(
        self, selections: Sequence[SelectionNode], type_name: str, value_of: Callable[[Selected], str]
    ) -> str:
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

    def _field(self, fields: dict[str, StrawberryField], scope: Scope, selected: Selected) -> str:
        if selected.name == "id" and issubclass(scope.cls, relay.Node):
            scope.no_arguments()  # the Relay id as Strawberry's default `resolve_id` gives it
            return node_id(scope.type_name, scope.column(scope.cls.resolve_id_attr()))
        strawberry_field = fields.get(selected.name)
        if strawberry_field is None:
            raise Unsupported(selected.name)
        self._check_permissions(strawberry_field)
        form = strawberry_field.metadata.get(SQL_KEY)
        if form is None:
            return _column_sql(scope, strawberry_field, selected)
        if isinstance(form, Relation):
            if selected.node.arguments:
                raise Unsupported(selected.name)
            target = target_of(strawberry_field.type)
            return self.related(target, f"{scope.alias}.{form.column}", selected.selections)
        result: str = form(scope)
        return result

    def _check_permissions(self, strawberry_field: StrawberryField) -> None:
        """A permission directive that would refuse this viewer: the resolver path reports it."""
        for extension in strawberry_field.extensions:
            if not isinstance(extension, PermissionExtension):
                raise Unsupported("field extension")
            for permission in extension.permissions:
                if isinstance(permission, RequiresRole):
                    allowed = self.role in permission.roles
                elif isinstance(permission, IsAuthenticated):
                    allowed = self.role is not None
                else:
                    allowed = False
                if not allowed:
                    raise Unsupported("permission")


@dataclass(frozen=True)
class Scope:
    """What a field's SQL form sees: the compiler, the row alias and the selected field."""

    compiler: Compiler
    cls: type[Mapped]
    alias: str
    selected: Selected | None

    @property
    def type_name(self) -> str:
        return type_name(self.cls)

    def column(self, name: str) -> str:
        return f"{self.alias}.{name}"

    @property
    def params(self) -> Params:
        return self.compiler.params

    def argument(self, name: str) -> Any:
        if self.selected is None:
            raise Unsupported(name)
        return self.compiler.reader.argument(self.selected.node, name)

    def no_arguments(self) -> None:
        if self.selected is not None and self.selected.node.arguments:
            raise Unsupported(self.selected.name)


def _column_sql(scope: Scope, strawberry_field: StrawberryField, selected: Selected) -> str:
    """A plain field of the type: a column of the mapped table."""
    name = scope.type_name
    if selected.node.arguments or strawberry_field.base_resolver is not None:
        raise Unsupported(f"{name}.{selected.name}")
    column = columns_of(scope.cls.__model__).get(strawberry_field.python_name)
    if column is None:
        raise Unsupported(f"{name}.{selected.name}")
    kind = strawberry_field.type
    if isinstance(kind, StrawberryOptional):
        kind = kind.of_type
    if kind is datetime:
        return iso(scope.column(column))
    if isinstance(kind, StrawberryEnumDefinition) or kind in _PLAIN_SCALARS:
        return scope.column(column)
    raise Unsupported(f"{name}.{selected.name}")


_FIELDS: dict[type[Mapped], dict[str, StrawberryField]] = {}


def _fields_of(cls: type[Mapped]) -> dict[str, StrawberryField]:
    """The type's fields by GraphQL name."""
    fields = _FIELDS.get(cls)
    if fields is None:
        definition = get_object_definition(cls, strict=True)
        fields = _FIELDS[cls] = {graphql_name(f): f for f in definition.fields}
    return fields


def list_item(field_type: Any) -> Any:
    """The item type of a (nullable) list type."""
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if not isinstance(field_type, StrawberryList):
        raise Unsupported("not a list")
    return field_type.of_type
