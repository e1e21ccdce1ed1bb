"""One declaration per field: GraphQL types backed by a table, and the SQL form of their fields.

A type backed by a table subclasses `Mapped` with its ORM model (`class Slot(relay.Node,
Mapped, model=models.Slot)`). From that one line:
- a plain field (an annotation, no resolver) whose Python name is a column of the model is a column
  field: `from_row` copies it from the row (enums converted), and the compiler (compiler.py) reads the
  same column in SQL, encoded as the GraphQL type serialises it (DateTime as `isoformat()`);
- `row` (a `strawberry.Private` field every mapped type has) holds the row itself, for resolvers.

A type reached by id (a root field, `node`, a relation) says who may see it twice, side by side: in
Python (`visible_to(info)`, absent when everyone may) and in SQL (`sql_visible = staticmethod(...)`, a
condition on the row; `public` when everyone may). A type without `sql_visible` is not compiled there.

Other fields say how they compile beside their resolver, with `metadata=`:
- `relation("host_id")`: an object found by a foreign key of the row (Python: the target's node
  loader; SQL: a correlated subquery building the target's JSON);
- `sql(expression)`: a value computed from the row's columns, the viewer or the clock;
- `sql_connection(...)` (connections.py): a page of child rows.
A field without a SQL form is resolved by its resolver (the compiler falls back for it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Self

import strawberry
from sqlalchemy import inspect
from strawberry.dataloader import DataLoader
from strawberry.types.base import StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition

from schema.context import Info

if TYPE_CHECKING:
    from schema.compiled.compiler import Scope

SQL_KEY = "sql"  # the key of a field's metadata that holds its SQL form
SqlForm = Callable[["Scope"], str]


class Mapped:
    """Mixin of GraphQL types backed by one table (see the module docstring)."""

    __model__: ClassVar[Any]
    __loader__: ClassVar[str]

    def __init_subclass__(cls, model: Any = None, loader: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if model is not None:
            cls.__model__ = model
            cls.__loader__ = loader or model.__tablename__.removesuffix("s")

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """The GraphQL object of an ORM row (or a Core row with the same column names)."""
        values = {name: convert(getattr(row, key)) for name, key, convert in _copied_fields(cls)}
        return cls(**values, row=row)  # type: ignore[call-arg]  # the strawberry type's dataclass fields

    @classmethod
    def node_loader(cls, info: Info) -> DataLoader[int, Self | None]:
        """Per-request ready-made objects of this type by id: a view of the request's row loader."""
        rows = getattr(info.context.loaders, cls.__loader__)
        loader: DataLoader[int, Self | None] = rows.view(type_name(cls), cls.from_row)
        return loader


def type_name(cls: type[Any]) -> str:
    """The GraphQL name of a Strawberry type."""
    return get_object_definition(cls, strict=True).name


def graphql_name(field: Any) -> str:
    """The GraphQL name of a Strawberry field or argument (Strawberry's default name conversion)."""
    if field.graphql_name:
        return str(field.graphql_name)
    head, *rest = field.python_name.split("_")
    return str(head) + "".join(part[:1].upper() + part[1:] for part in rest)


def columns_of(model: Any) -> dict[str, str]:
    """Mapped attribute name -> table column name."""
    return {attr.key: attr.columns[0].name for attr in inspect(model).column_attrs}


_COPIED: dict[type[Mapped], list[tuple[str, str, Callable[[Any], Any]]]] = {}


def _copied_fields(cls: type[Mapped]) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """(field name, row attribute, conversion) of every dataclass field `from_row` fills."""
    found = _COPIED.get(cls)
    if found is None:
        found = _COPIED[cls] = _find_copied_fields(cls)
    return found


def _find_copied_fields(cls: type[Mapped]) -> list[tuple[str, str, Callable[[Any], Any]]]:
    columns = columns_of(cls.__model__)
    definition = get_object_definition(cls, strict=True)
    enums = {f.python_name: _enum_of(f.type) for f in definition.fields}
    copied: list[tuple[str, str, Callable[[Any], Any]]] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]  # a strawberry type is a dataclass
        if field.name == "row" or field.name not in columns or not field.init:
            continue
        enum = enums.get(field.name)
        copied.append((field.name, field.name, _enum_converter(enum) if enum else _same))
    return copied


def _same(value: Any) -> Any:
    return value


def _enum_converter(enum: type[Enum]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else enum(value)


def _enum_of(field_type: Any) -> type[Enum] | None:
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if isinstance(field_type, StrawberryEnumDefinition):
        enum: type[Enum] = field_type.wrapped_cls  # type: ignore[assignment]  # an Enum subclass
        return enum
    return None


@dataclass(frozen=True)
class Relation:
    """An object found by the foreign key `column` of the row."""

    column: str


def relation(column: str, *, description: str | None = None) -> Any:
    """A field whose value is the object of its annotated type whose id is `row.<column>`."""

    # No return annotation: the field's type is the annotation in the class.
    async def resolve(root: Any, info: Info):  # type: ignore[no-untyped-def]
        key = getattr(root.row, column)
        if key is None:
            return None
        node = await target_of(info.return_type).node_loader(info).load(key)
        visible = getattr(node, "visible_to", None)
        return node if visible is None or visible(info) else None

    return strawberry.field(resolver=resolve, description=description, metadata={SQL_KEY: Relation(column)})


def target_of(field_type: Any) -> type[Mapped]:
    """The mapped class of a field's (optional) object type."""
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if not (isinstance(field_type, type) and issubclass(field_type, Mapped)):
        raise TypeError(f"{field_type!r} is not a mapped type")
    return field_type


def public(_scope: Scope) -> str:
    """`sql_visible` of a type everyone may see."""
    return "true"


def sql(form: SqlForm) -> dict[str, Any]:
    """`metadata=` of a resolver field: its SQL form, equal to what the resolver returns."""
    return {SQL_KEY: form}
