"""No "Did you mean ...?" in production: validation and variable coercion without suggestions.

Suggestions name fields, arguments, enum values, types and input fields close to a guess, so with
introspection off they would still let a caller map the schema by trial. `StrawberryConfig(
disable_field_suggestions=True)` only trims the message of unknown fields. graphql-core (3.3.2 and
later, pinned in pyproject.toml) takes a public `hide_suggestions` flag in `validate` and in
`Executor.build` (variable values), which covers every kind; strawberry does not pass it, so:

- validation (`StableValidationCache`, which runs it for strawberry) calls `validate_document` below;
- execution and subscriptions use `QuietExecutionContext`, whose `build` sets the flag.

`tests/http/test_suggestions.py` checks each kind in production and development.
"""

from __future__ import annotations

from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.compiled.execution import CompiledExecutionContext

# The rules strawberry's own `validate_document` adds to the request's rules.
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (MaybeNullValidationRule, OneOfInputValidationRule)


def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    *,
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """strawberry's `validate_document`, with graphql-core's `hide_suggestions`."""
    return validate(schema, document, (*rules, *STRAWBERRY_RULES), hide_suggestions=hide_suggestions)


class QuietExecutionContext(CompiledExecutionContext):
    """`CompiledExecutionContext` whose variable coercion errors carry no suggestions."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})
