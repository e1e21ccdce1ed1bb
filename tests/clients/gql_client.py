"""gql 4 for the Mock Interview API: queries as persisted-query GETs, mutations and uploads over
HTTP (httpx), subscriptions over graphql-ws (websockets), and the member's tokens, refreshed when 80%
of the access token's life has passed or when the server refuses it (docs/clients.md)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportClosed, TransportConnectionFailed
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from graphql import ExecutionResult, OperationType, get_operation_ast, print_ast

REFRESH_TOKENS = """mutation RefreshTokens($refreshToken: String!) {
  refreshTokens(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }
}"""


class SessionEnded(Exception):
    """The refresh token was spent, expired or revoked: sign in again."""


def _error_codes(response: httpx.Response) -> set[str]:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return set()
    return {str((error.get("extensions") or {}).get("code")) for error in errors}


class Session(httpx.Auth):
    """The member's tokens, as httpx authentication: every request carries the access token; one
    refresh at a time (a refresh token is single-use, and presenting a spent one again revokes the
    whole session); a request the server answers UNAUTHENTICATED is sent again once, refreshed."""

    requires_response_body = True

    def __init__(self, graphql_url: str) -> None:
        self.graphql_url = graphql_url
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    def start(self, payload: dict[str, Any]) -> None:
        """Keep the tokens of an AuthPayload (signUp, logIn, refreshTokens)."""
        self.access_token = payload["accessToken"]
        self.refresh_token = payload["refreshToken"]
        self._refresh_at = time.monotonic() + 0.8 * payload["expiresIn"]

    async def fresh_access_token(self) -> str | None:
        """An access token worth sending: refreshed first when it expires soon."""
        if self.access_token is not None and time.monotonic() >= self._refresh_at:
            await self.refresh(self.access_token)
        return self.access_token

    async def refresh(self, stale: str | None) -> None:
        """Rotate the tokens, unless that happened since `stale` was handed out."""
        async with self._lock:
            if self.access_token != stale:
                return
            if self.refresh_token is None:
                raise SessionEnded("Not signed in.")
            body = {
                "query": REFRESH_TOKENS,
                "operationName": "RefreshTokens",
                "variables": {"refreshToken": self.refresh_token},
            }
            async with httpx.AsyncClient() as http:
                response = await http.post(self.graphql_url, json=body)
            tokens = (response.json().get("data") or {}).get("refreshTokens")
            if tokens is None:
                self.access_token = self.refresh_token = None
                raise SessionEnded(response.text)
            self.start(tokens)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.fresh_access_token()
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if token is not None and "UNAUTHENTICATED" in _error_codes(response):
            await self.refresh(token)
            request.headers["Authorization"] = f"Bearer {self.access_token}"
            yield request


class PersistedQueriesTransport(HTTPXAsyncTransport):
    """Apollo's automatic persisted queries (gql has none of its own): a query goes as GET with only
    its hash; after PERSISTED_QUERY_NOT_FOUND its document is sent once, by POST. Mutations and
    uploads are plain POSTs."""

    async def execute(
        self, request: GraphQLRequest, *, extra_args: dict[str, Any] | None = None, upload_files: bool = False
    ) -> ExecutionResult:
        operation = get_operation_ast(request.document, request.operation_name)
        if request.operation_name is None and operation is not None and operation.name is not None:
            # Named, the request shows under its name in the server's access log and traces.
            request = GraphQLRequest(request, operation_name=operation.name.value)
        if upload_files or operation is None or operation.operation != OperationType.QUERY:
            return await super().execute(request, extra_args=extra_args, upload_files=upload_files)
        if self.client is None:
            raise TransportClosed("Transport is not connected")
        sha256 = hashlib.sha256(print_ast(request.document).encode()).hexdigest()
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
        params = {"extensions": json.dumps(extensions)}
        if request.variable_values:
            params["variables"] = json.dumps(request.variable_values)
        if request.operation_name:
            params["operationName"] = request.operation_name
        response = await self.client.get(self.url, params=params, **(extra_args or {}))
        if "PERSISTED_QUERY_NOT_FOUND" not in _error_codes(response):
            body = response.json()
            return ExecutionResult(body.get("data"), body.get("errors"), body.get("extensions"))
        with_document = GraphQLRequest(request, extensions=extensions)
        return await super().execute(with_document, extra_args=extra_args)


def http_client(session: Session, graphql_url: str) -> Client:
    """A gql Client over HTTP. The preflight header lets multipart uploads through."""
    headers = {"GraphQL-Require-Preflight": "1"}
    return Client(transport=PersistedQueriesTransport(graphql_url, auth=session, headers=headers))


async def subscribe(
    session: Session, ws_url: str, request: GraphQLRequest, on_reconnect: Callable[[], object] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The events of a subscription for as long as the caller iterates. The server closes a socket
    when the access token it was opened with expires (4403): this reconnects with a fresh one and
    calls `on_reconnect`, for refetching what the events would have changed meanwhile."""
    connections = 0
    while True:
        token = await session.fresh_access_token()
        transport = WebsocketsTransport(
            url=ws_url,
            init_payload={"Authorization": f"Bearer {token}"} if token else {},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        try:
            async with Client(transport=transport) as live:
                connections += 1
                if connections > 1 and on_reconnect is not None:
                    on_reconnect()
                async for event in live.subscribe(request):
                    yield event
        except (TransportClosed, TransportConnectionFailed):
            await asyncio.sleep(1)
