"""Small helpers for talking GraphQL over HTTP in tests, and member factories."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

_counter = itertools.count(1)

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { accessToken refreshToken expiresIn user { id displayName email role points } }
}
"""


@dataclass
class Member:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The JSON result; asserts the server never answered with a 5xx."""
        response = await self.post(query, variables, token=token)
        assert response.status_code < 500, response.text
        result: dict[str, Any] = response.json()
        return result

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The `data` of a result that must have no errors."""
        result = await self.execute(query, variables, token=token)
        assert not result.get("errors"), result
        data: dict[str, Any] = result["data"]
        return data

    async def error_code(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> str:
        """The `extensions.code` of the first error (the result must have one)."""
        result = await self.execute(query, variables, token=token)
        assert result.get("errors"), result
        code: str = result["errors"][0]["extensions"]["code"]
        return code

    async def sign_up(self, name: str = "member", password: str = "correct horse battery") -> Member:
        email = f"{name}-{next(_counter)}-{id(self)}@example.com"
        data = await self.data(
            SIGN_UP,
            {"input": {"email": email, "password": password, "displayName": name.title()}},
        )
        payload = data["signUp"]
        return Member(
            id=payload["user"]["id"],
            email=email,
            password=password,
            access_token=payload["accessToken"],
            refresh_token=payload["refreshToken"],
        )


def db_id(global_id: str) -> int:
    """The integer key inside a Relay global ID."""
    from strawberry import relay

    return int(relay.GlobalID.from_id(global_id).node_id)
