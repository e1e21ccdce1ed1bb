"""Validation results cached per (schema, query text, rule set), surviving per-request rule classes.

Strawberry's `ValidationCache` keys its LRU on the validation rule classes, but `QueryDepthLimiter`
and `MaxAliasesLimiter` build a new rule class for every request, so with them the cache never hits
and every request re-validates its document (about a sixth of a board request's time here). The rule
classes those limiters build are configured once per schema (from settings), so the rules' names
identify the rule set within one schema. In production validation hides suggestions
(`schema/extensions/suggestions.py`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from schema.core_schema import graphql_core_schema
from schema.extensions.suggestions import validate_document

MAX_ENTRIES = 1000
_cache: OrderedDict[tuple[int, str, tuple[str, ...]], list[GraphQLError]] = OrderedDict()


class StableValidationCache(SchemaExtension):
    """Drop-in for `ValidationCache` that also hits with per-request rule classes."""

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        schema = graphql_core_schema(ctx.schema)
        document = ctx.graphql_document
        assert document is not None
        rules = tuple(ctx.validation_rules)
        if ctx.query is None:
            ctx.pre_execution_errors = validate_document(
                schema, document, rules, hide_suggestions=self.hide_suggestions
            )
            yield
            return
        names = tuple(f"{r.__module__}.{r.__qualname__}" for r in rules)
        key = (id(schema), ctx.query, (*names, f"hide_suggestions={self.hide_suggestions}"))
        errors = _cache.get(key)
        if errors is None:
            errors = validate_document(schema, document, rules, hide_suggestions=self.hide_suggestions)
            _cache[key] = errors
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
        ctx.pre_execution_errors = list(errors)
        yield
