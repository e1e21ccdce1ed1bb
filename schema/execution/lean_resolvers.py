"""Leaner graphql-core resolvers for the two most frequent kinds of field (same schema, same values).

A page of interviews with their last messages resolves ~600 fields, and Strawberry's wrappers cost
more than the fields themselves for the commonest two kinds:

- Relay `id` of a `Node` type with the default `resolve_id` / `resolve_typename`: Strawberry builds
  an `Info`, converts (no) arguments and runs its extension chain for every node. Here: the string
  `str(GlobalID(<GraphQL type name>, str(<NodeID attribute>)))` straight from the row.
- Plain attributes ("basic fields": no resolver, no field extensions): Strawberry calls
  `field.get_result`, which calls the configured default resolver (`getattr`). Here: `getattr`.
- Method resolvers taking `self`/`info` and only plain scalar arguments (Int, String, Boolean,
  Float, named the same in Python and GraphQL), without field extensions: Strawberry converts
  arguments (a no-op for these) and runs an empty extension chain. Here: the method is called
  with the same `self`, `Info` and keyword arguments.

Only fields in exactly those states are touched; everything else (custom resolvers, permission
extensions, fields with exception handlers) keeps Strawberry's resolver. Schema-level extensions
still see every field (graphql-core middleware wraps whatever `resolve` is).
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType
from strawberry import relay
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.field import StrawberryField

Resolver = Callable[..., Any]
_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
_DEFAULT_RESOLVE_ID = relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
_DEFAULT_RESOLVE_TYPENAME = relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
_PLAIN_SCALARS = (int, str, bool, float)
_ROOT_TYPES = ("Query", "Mutation", "Subscription")


def _pure(resolver: Resolver, source_getter: Callable[[Any], Any]) -> Resolver:
    """Attach `source_getter`: the side-effect-free value of `resolver` from its source object
    alone (used by schema/fast_execution.py)."""
    setattr(resolver, "source_getter", source_getter)  # noqa: B010 (a function attribute)
    return resolver


def _node_id_resolver(type_name: str, attr: str) -> Resolver:
    # The serialised form of GlobalID(type_name, str(id)) (`to_base64`), without the object and the
    # ID scalar's str() round trip.
    def node_id(root: Any) -> str:
        return b64encode(f"{type_name}:{getattr(root, attr)}".encode()).decode()

    def resolve_node_id(root: Any, info: Any) -> str:
        return node_id(root)

    return _pure(resolve_node_id, node_id)


def _attribute_resolver(name: str) -> Resolver:
    def resolve_attribute(root: Any, info: Any) -> Any:
        return getattr(root, name)

    return _pure(resolve_attribute, attrgetter(name))


def _method_resolver(
    gql_field: GraphQLField, field: StrawberryField, info_class: type[Any]
) -> Resolver | None:
    """A direct call of `field`'s resolver when Strawberry's wrapper would add nothing, else None."""
    resolver = field.base_resolver
    if resolver is None or field.extensions or resolver.parent_parameter or resolver.root_parameter:
        return None
    for argument in field.arguments:
        kind = argument.type.of_type if isinstance(argument.type, StrawberryOptional) else argument.type
        if kind not in _PLAIN_SCALARS:
            return None
    # graphql-core passes arguments by GraphQL name: they must be the Python names.
    if set(gql_field.args) != {a.python_name for a in field.arguments} or any(
        a.out_name for a in gql_field.args.values()
    ):
        return None
    func: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]
    with_self = resolver.self_parameter is not None
    info_parameter = resolver.info_parameter
    info_name = info_parameter.name if info_parameter is not None else None
    if not with_self or info_name is None:
        return None  # only the shape used in this project: methods taking info

    def resolve_method(root: Any, info: Any, **kwargs: Any) -> Any:
        kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return func(root, **kwargs)

    return resolve_method


def _has_default_node_id(origin: type) -> bool:
    return (
        issubclass(origin, relay.Node)
        and getattr(origin.resolve_id, "__func__", None) is _DEFAULT_RESOLVE_ID
        and getattr(origin.resolve_typename, "__func__", None) is _DEFAULT_RESOLVE_TYPENAME
    )


def install(schema: strawberry.Schema) -> int:
    """Swap in the lean resolvers where they are equivalent; returns how many fields changed."""
    changed = 0
    if getattr(schema.schema_converter, "_exception_handler_specs", None):
        return changed  # fields may convert exceptions into results: keep Strawberry's wrappers
    info_class = schema.config.info_class
    for gql_type in schema._schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType) or gql_type.name.startswith("__"):
            continue
        definition = (gql_type.extensions or {}).get(_BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        origin = definition.origin
        node_id = _has_default_node_id(origin)
        for name, gql_field in gql_type.fields.items():
            field = (gql_field.extensions or {}).get(_BACKREF)
            if not isinstance(field, StrawberryField):
                continue
            if name == "id" and node_id and not field.extensions and gql_field.resolve is not None:
                resolver = field.base_resolver
                if resolver is not None and getattr(resolver.wrapped_func, "__func__", None) is getattr(
                    relay.Node._id, "__func__", None
                ):
                    gql_field.resolve = _node_id_resolver(gql_type.name, origin.resolve_id_attr())
                    changed += 1
                continue
            if (
                getattr(gql_field.resolve, "_is_default", False)
                and field.is_basic_field
                and field.default_resolver is getattr
            ):
                gql_field.resolve = _attribute_resolver(field.python_name)
                changed += 1
            elif name != "id" and gql_type.name not in _ROOT_TYPES:
                method = _method_resolver(gql_field, field, info_class)
                if method is not None:
                    gql_field.resolve = method
                    changed += 1
    return changed
