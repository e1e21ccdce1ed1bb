"""An execution context that completes "pure" fields without graphql-core's per-field machinery.

graphql-core spends several microseconds per field (a `Path`, a resolve info, the middleware check,
awaitable checks, the generic `complete_value` dispatch). A page of interviews with their messages
has ~600 fields, and most of them are plain attributes read from objects that are already in memory.

A field is *pure* when its resolver has a side-effect-free equivalent that returns what the resolver
would return, or `MISSING` when it cannot tell without the resolver: `schema.execution.lean_resolvers` gives
plain attributes and default Relay ids a `source_getter(source)`; a method resolver declares a
`fast_getter(source, context, arguments)` with `@fast_getter(...)` (e.g. a relation a page resolver
prefetched), and it must be equivalent to the method. The field must return a leaf, or an object or
list of objects whose selected fields are all pure themselves. `__typename` is pure too. Arguments
are coerced once per operation (they depend only on the document and the variables). Pure fields
are completed by a direct loop with the same coercion (`coerce_output_value`) and the same
`is_type_of` checks as graphql-core.

Anything unusual (an exception, a null in a non-null position, a failed type check) abandons the
fast completion of that object, and graphql-core completes it again from scratch: pure getters have
no side effects, so it produces exactly the result and the located error it would have produced.
Non-pure fields (other resolvers, fields with Strawberry field extensions such as permissions)
always go through graphql-core. Nothing is fast when resolver middleware is installed or incremental delivery
(@defer/@stream) is in play.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

Completer = Callable[[Any], Any]
Getter = Callable[[Any], Any]
FastGetter = Callable[[Any, Any, dict[str, Any]], Any]
MISSING: Any = object()
_NO_INFO: Any = None  # Strawberry's is_type_of ignores its info argument
_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


def fast_getter(getter: FastGetter) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare `getter(self, context, arguments)` as the side-effect-free equivalent of the
    decorated resolver method (place it below `@strawberry.field`)."""

    def mark(method: Callable[..., Any]) -> Callable[..., Any]:
        setattr(method, "fast_getter", getter)  # noqa: B010
        return method

    return mark


class Precompleted:
    """A field value a resolver has already completed (e.g. JSON built by PostgreSQL): returned as
    the field's result without looking at its selection again."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Bail(Exception):
    """The fast completion cannot reproduce graphql-core here: let graphql-core complete it."""


_BAIL = _Bail()


def _present(value: Any, non_null: bool) -> bool:
    """True when `value` is to be completed, False for a null the field may return; bails on a null
    in a non-null position (graphql-core reports it) and on MISSING."""
    if value is None:
        if non_null:
            raise _BAIL
        return False
    if value is MISSING:
        raise _BAIL
    return True


def _leaf(getter: Getter, leaf: GraphQLLeafType, non_null: bool) -> Completer:
    coerce = leaf.coerce_output_value

    def complete(source: Any) -> Any:
        value = getter(source)
        if not _present(value, non_null):
            return None
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _BAIL
        return coerced

    return complete


def _object(getter: Getter, object_type: GraphQLObjectType, plan: _Plan, non_null: bool) -> Completer:
    is_type_of = object_type.is_type_of

    def complete(source: Any) -> Any:
        value = getter(source)
        if not _present(value, non_null):
            return None
        if is_type_of is not None and not is_type_of(value, _NO_INFO):
            raise _BAIL
        return plan.complete(value)

    return complete


def _object_list(
    getter: Getter,
    object_type: GraphQLObjectType,
    plan: _Plan,
    non_null: bool,
    items_non_null: bool,
) -> Completer:
    is_type_of = object_type.is_type_of
    complete_item = plan.complete

    def complete(source: Any) -> Any:
        values = getter(source)
        if not _present(values, non_null):
            return None
        if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
            raise _BAIL
        completed: list[Any] = []
        for value in values:
            if value is None:
                if items_non_null:
                    raise _BAIL
                completed.append(None)
                continue
            if is_type_of is not None and not is_type_of(value, _NO_INFO):
                raise _BAIL
            completed.append(complete_item(value))
        return completed

    return complete


class _Plan:
    """How to complete one object for one grouped field set: a completer per response key, or None
    for a key graphql-core must execute."""

    __slots__ = ("all_pure", "entries")

    def __init__(self, entries: list[tuple[str, Any, Completer | None]]) -> None:
        self.entries = entries
        self.all_pure = all(completer is not None for _, _, completer in entries)

    def complete(self, source: Any) -> dict[str, Any]:
        if not self.all_pure:
            raise _BAIL
        return {key: completer(source) for key, _, completer in self.entries}  # type: ignore[misc]


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the pure-field fast path described above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self._fast = middleware is None or not middleware.middlewares
        # Keyed like graphql-core's `collect_subfields` memo: the grouped field set is kept alive
        # with its plan, so its id cannot be reused within the operation.
        self._plans: dict[tuple[str, int], tuple[Any, _Plan | None]] = {}

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is Precompleted:
            return result.value
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set) if position_context is None else None
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        if plan.all_pure:
            try:
                return plan.complete(source_value)
            except _Bail:
                return super().execute_fields(
                    parent_type, source_value, path, grouped_field_set, position_context
                )
        return self._execute_mixed(parent_type, source_value, path, plan)

    def _execute_mixed(
        self, parent_type: GraphQLObjectType, source: Any, path: Path | None, plan: _Plan
    ) -> Any:
        results: dict[str, Any] = {}
        awaitable_keys: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for key, field_details_list, completer in plan.entries:
                if completer is not None:
                    try:
                        results[key] = completer(source)
                        continue
                    except _Bail:
                        pass
                result = self.execute_field(
                    parent_type, source, field_details_list, Path(path, key, parent_type.name), None
                )
                if result is not Undefined:
                    results[key] = result
                    if is_awaitable(result):
                        awaitable_keys.append(key)
        except Exception:
            if awaitable_keys:
                self.settle_in_background([results[key] for key in awaitable_keys])
            raise
        if not awaitable_keys:
            return results
        return self._gather_fields(results, awaitable_keys)

    async def _gather_fields(self, results: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        if len(keys) == 1:
            results[keys[0]] = await results[keys[0]]
        else:
            values = await gather_with_cancel(*(results[key] for key in keys))
            results.update(zip(keys, values, strict=True))
        return results

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan | None:
        if not self._fast:
            return None
        memo_key = (parent_type.name, id(grouped_field_set))
        cached = self._plans.get(memo_key)
        if cached is not None:
            return cached[1]
        entries: list[tuple[str, Any, Completer | None]] = []
        for key, field_details_list in grouped_field_set.items():
            if any(details.defer_usage is not None for details in field_details_list):
                plan = None
                break
            entries.append((key, field_details_list, self._completer(parent_type, field_details_list)))
        else:
            plan = _Plan(entries)
        self._plans[memo_key] = (grouped_field_set, plan)
        return plan

    def _completer(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Completer | None:
        node = field_details_list[0].node
        name = node.name.value
        if name == "__typename":
            type_name = parent_type.name
            return lambda _source: type_name
        field_def = parent_type.fields.get(name)
        if field_def is None:
            return None
        source_getter: Getter | None = getattr(field_def.resolve, "source_getter", None)
        if source_getter is not None:
            return self._typed_completer(source_getter, field_def.type, field_details_list)
        field = (field_def.extensions or {}).get(_BACKREF)
        resolver = getattr(field, "base_resolver", None)
        if resolver is None or field.extensions:  # type: ignore[union-attr]
            return None
        fast: FastGetter | None = getattr(resolver.wrapped_func, "fast_getter", None)
        if fast is None:
            return None
        arguments: dict[str, Any] = {}
        if field_def.args or node.arguments:
            try:
                arguments = get_argument_values(
                    field_def,
                    node,
                    self.variable_values,
                    field_details_list[0].fragment_variable_values,
                    self.hide_suggestions,
                )
            except Exception:
                return None
        context = self.context_value
        return self._typed_completer(
            lambda source: fast(source, context, arguments), field_def.type, field_details_list
        )

    def _typed_completer(
        self, getter: Getter, field_type: GraphQLOutputType, field_details_list: Any
    ) -> Completer | None:
        non_null = isinstance(field_type, GraphQLNonNull)
        kind: Any = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if is_leaf_type(kind):
            return _leaf(getter, kind, non_null)
        if isinstance(kind, GraphQLObjectType):
            plan = self._subplan(kind, field_details_list)
            return _object(getter, kind, plan, non_null) if plan is not None else None
        if isinstance(kind, GraphQLList):
            item: Any = kind.of_type
            items_non_null = isinstance(item, GraphQLNonNull)
            item = item.of_type if items_non_null else item
            if not isinstance(item, GraphQLObjectType):
                return None
            plan = self._subplan(item, field_details_list)
            if plan is None:
                return None
            return _object_list(getter, item, plan, non_null, items_non_null)
        return None

    def _subplan(self, object_type: GraphQLObjectType, field_details_list: Any) -> _Plan | None:
        grouped_field_set, new_defer_usages, *_ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        plan = self._plan(object_type, grouped_field_set)
        return plan if plan is not None and plan.all_pure else None
