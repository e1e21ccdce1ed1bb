"""Assembles the schema from per-feature Query/Mutation/Subscription types."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from app.core.persisted_queries import load_allowlist
from app.core.settings import Settings
from schema.accounts.fields import AccountsMutation, AccountsQuery
from schema.api_keys.fields import ApiKeysMutation, ApiKeysQuery
from schema.audit.fields import AuditQuery
from schema.calendar.fields import CalendarMutation
from schema.chat.fields import ChatMutation, ChatSubscription
from schema.compiled.execution import CompiledExecutionContext
from schema.content.fields import ContentMutation, ContentQuery
from schema.extensions.errors import CloseDatabaseSession, ErrorCodes
from schema.extensions.input_checks import InputChecks
from schema.extensions.listed_documents import ListedDocumentsOnly
from schema.extensions.read_only_api_keys import ReadOnlyApiKeys
from schema.extensions.release_event_scope import ReleaseEventScope
from schema.extensions.request_info import RequestInfo
from schema.extensions.suggestions import QuietExecutionContext
from schema.extensions.validation_cache import StableValidationCache
from schema.inputs import DATETIME
from schema.interviews.fields import InterviewsMutation, InterviewsQuery, InterviewsSubscription
from schema.matching.fields import MatchingMutation, MatchingQuery, MatchingSubscription
from schema.moderation.fields import ModerationMutation, ModerationQuery
from schema.node import NodeQuery
from schema.notifications.delivery_fields import DeliveriesMutation, DeliveriesQuery
from schema.notifications.fields import NotificationsMutation, NotificationsQuery, NotificationsSubscription
from schema.notifications.reach_fields import ReachMutation
from schema.points.fields import PointsMutation
from schema.slots.fields import SlotsMutation, SlotsQuery, SlotsSubscription
from schema.specializations.fields import SpecializationsMutation, SpecializationsQuery
from schema.uploads.fields import UploadsMutation, UploadsQuery

# Root fields, one class per feature; the order here is the order of the printed schema.
QUERY_TYPES: tuple[type, ...] = (
    NodeQuery,
    AccountsQuery,
    SpecializationsQuery,
    SlotsQuery,
    InterviewsQuery,
    MatchingQuery,
    ContentQuery,
    NotificationsQuery,
    DeliveriesQuery,
    ApiKeysQuery,
    UploadsQuery,
    ModerationQuery,
    AuditQuery,
)
MUTATION_TYPES: tuple[type, ...] = (
    AccountsMutation,
    SpecializationsMutation,
    SlotsMutation,
    InterviewsMutation,
    MatchingMutation,
    ContentMutation,
    PointsMutation,
    CalendarMutation,
    ChatMutation,
    NotificationsMutation,
    DeliveriesMutation,
    ReachMutation,
    ApiKeysMutation,
    UploadsMutation,
    ModerationMutation,
)
SUBSCRIPTION_TYPES: tuple[type, ...] = (
    SlotsSubscription,
    InterviewsSubscription,
    MatchingSubscription,
    ChatSubscription,
    NotificationsSubscription,
)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with the security limits from `settings` (depth, aliases, tokens, introspection,
    suggestions)."""
    query = merge_types("Query", QUERY_TYPES)
    mutation = merge_types("Mutation", MUTATION_TYPES)
    subscription = merge_types("Subscription", SUBSCRIPTION_TYPES)
    extensions: list[Any] = [
        partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        partial(ParserCache, maxsize=1000),
        partial(QueryDepthLimiter, max_depth=settings.max_query_depth),
        partial(MaxAliasesLimiter, max_alias_count=settings.max_aliases),
        # strawberry's ValidationCache never hits with the limiters above; no "Did you mean" in production.
        partial(StableValidationCache, hide_suggestions=settings.is_production),
        RequestInfo,
        ErrorCodes,
        InputChecks,  # no NUL or lone surrogate in any argument; subscriptions only over WebSocket
        ReadOnlyApiKeys,
        ReleaseEventScope,
        CloseDatabaseSession,
    ]
    if not settings.introspection_enabled:
        extensions.append(partial(AddValidationRules, [NoSchemaIntrospectionCustomRule]))
    if settings.persisted_queries == "allowlist":
        # After StableValidationCache: its on_validate sets the errors this one replaces.
        documents = frozenset(load_allowlist(settings.persisted_queries_file).values())
        extensions.append(partial(ListedDocumentsOnly, documents=documents))
    schema = strawberry.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=extensions,
        config=StrawberryConfig(
            disable_field_suggestions=settings.is_production,
            scalar_map={datetime: DATETIME},  # DateTime arguments: with an offset, within the calendar
        ),
        # Production: variable values are coerced without suggestions too (schema/extensions/suggestions.py).
        execution_context_class=QuietExecutionContext if settings.is_production else CompiledExecutionContext,
    )
    return schema
