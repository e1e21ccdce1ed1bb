"""The pure-field fast path (schema/fast_execution.py) must give exactly graphql-core's results:
the same queries run with FastExecutionContext and with Strawberry's own execution context, on the
same data, and the whole responses (data and errors) must be equal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.core.clock import Clock
from resolvers.unit_of_work import Services
from schema.execution import fast_execution
from schema.execution.fast_execution import FastExecutionContext
from tests.conftest import clear_response_cache
from tests.execution.test_compiled_reads import BOARD_FULL, MINE_FULL, _interviews
from tests.helpers import GraphQLClient

QUERIES: list[tuple[str, dict[str, Any]]] = [
    (MINE_FULL, {"skipCand": False, "withTopic": True, "last": 3}),
    (MINE_FULL, {"skipCand": True, "withTopic": False, "last": 0, "first": 2}),
    (BOARD_FULL, {"first": 5}),
    (
        """{ myInterviews { edges { node { id slot { id status isOpen videoLink host { id displayName } }
          videoLink feedback { id rating } calendarEvent interviewer { email points isBlocked
          specializations { id name } stats { interviewsGiven averageRating } } } } } }""",
        {},
    ),
    ("{ me { id displayName email points role createdAt isBlocked blockedUntil __typename } }", {}),
    ("{ specializations { id name __typename } }", {}),
    (
        """{ myInterviews(first: 3) { edges { node { ...on Interview { a: id b: status }
          messages(first: 1000) { edges { cursor } } } } } }""",
        {},
    ),
    ('{ __type(name: "Interview") { name fields { name type { name kind ofType { name } } } } }', {}),
]


async def test_fast_path_results_equal_graphql_core(
    app: Starlette,
    client: GraphQLClient,
    db_session: AsyncSession,
    clock: Clock,
    app_state: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    candidate = await client.sign_up("cand")
    await _interviews(db_session, clock, candidate, [await client.sign_up("host")])
    schema = app.state.schema
    completed: list[int] = []
    original = fast_execution._Plan.complete

    def observed(self: Any, source: Any) -> dict[str, Any]:
        completed.append(1)
        return original(self, source)

    monkeypatch.setattr(fast_execution._Plan, "complete", observed)
    monkeypatch.setattr(app_state.settings, "compiled_reads", False)  # every field through the executor
    for query, variables in QUERIES:
        results = []
        for execution_context in (FastExecutionContext, StrawberryGraphQLCoreExecutionContext):
            monkeypatch.setattr(schema, "execution_context_class", execution_context)
            clear_response_cache()
            results.append(await client.execute(query, variables, token=candidate.access_token))
        assert results[0] == results[1], query
    assert completed  # the fast path did run
