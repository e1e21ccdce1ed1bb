"""The `user` of signUp, logIn and refreshTokens is the caller themself: its private fields resolve,
while the (anonymous) request's viewer stays anonymous for everything else."""

from __future__ import annotations

import secrets
from typing import Any

from app.core.settings import Settings
from tests.helpers import GraphQLClient

SELF_FIELDS = """user { id email points isBlocked blockedUntil calendarFeedUrl
  pointsLedger(first: 5) { edges { node { amount kind } } } }"""
SIGN_UP = f"""mutation($input: SignUpInput!) {{
  signUp(input: $input) {{ accessToken refreshToken {SELF_FIELDS} }} }}"""
LOG_IN = f"""mutation($email: String!, $password: String!) {{
  logIn(input: {{email: $email, password: $password}}) {{ accessToken refreshToken {SELF_FIELDS} }} }}"""
REFRESH = f"""mutation($t: String!) {{
  refreshTokens(refreshToken: $t) {{ accessToken refreshToken {SELF_FIELDS} }} }}"""
PUBLIC_VIEW = """query($id: ID!) { user(id: $id) { id email points isBlocked blockedUntil calendarFeedUrl
  pointsLedger(first: 5) { edges { node { amount } } } } }"""
PASSWORD = "correct horse battery"


def assert_private_fields(user: dict[str, Any], email: str) -> None:
    assert user["email"] == email
    assert user["points"] == 1  # SIGNUP_GRANT_POINTS
    assert user["isBlocked"] is False
    assert user["blockedUntil"] is None
    # Under PUBLIC_BASE_URL (tests/conftest.py sets none: the environment's, or the default).
    assert user["calendarFeedUrl"].startswith(Settings().public_url("/calendar/"))
    assert user["calendarFeedUrl"].endswith(".ics")
    assert [edge["node"] for edge in user["pointsLedger"]["edges"]] == [{"amount": 1, "kind": "GRANT"}]


async def test_sign_up_log_in_and_refresh_show_the_callers_private_fields(client: GraphQLClient) -> None:
    email = f"self-{secrets.token_hex(4)}@example.com"
    signed_up = (
        await client.data(SIGN_UP, {"input": {"email": email, "password": PASSWORD, "displayName": "Self"}})
    )["signUp"]
    assert_private_fields(signed_up["user"], email)
    feed_url = signed_up["user"]["calendarFeedUrl"]

    logged_in = (await client.data(LOG_IN, {"email": email, "password": PASSWORD}))["logIn"]
    assert_private_fields(logged_in["user"], email)
    assert logged_in["user"]["calendarFeedUrl"] == feed_url

    refreshed = (await client.data(REFRESH, {"t": logged_in["refreshToken"]}))["refreshTokens"]
    assert_private_fields(refreshed["user"], email)
    assert refreshed["user"]["id"] == signed_up["user"]["id"]

    # The same feed URL as the member sees with a token.
    me = (await client.data("{ me { calendarFeedUrl } }", token=refreshed["accessToken"]))["me"]
    assert me["calendarFeedUrl"] == feed_url


async def test_the_member_stays_private_to_everyone_else(client: GraphQLClient) -> None:
    email = f"self-{secrets.token_hex(4)}@example.com"
    signed_up = (
        await client.data(SIGN_UP, {"input": {"email": email, "password": PASSWORD, "displayName": "Self"}})
    )["signUp"]
    member_id = signed_up["user"]["id"]
    other = await client.sign_up("other")
    private = {
        "email": None,
        "points": None,
        "isBlocked": None,
        "blockedUntil": None,
        "calendarFeedUrl": None,
        "pointsLedger": None,
    }
    # Anonymous, and another member: the same user, looked up by ID, shows no private field.
    anonymous = (await client.data(PUBLIC_VIEW, {"id": member_id}))["user"]
    assert anonymous == {"id": member_id, **private}
    seen_by_other = (await client.data(PUBLIC_VIEW, {"id": member_id}, token=other.access_token))["user"]
    assert seen_by_other == {"id": member_id, **private}
    # Another member logging in sees their own private fields, not the first member's.
    logged_in = (await client.data(LOG_IN, {"email": other.email, "password": other.password}))["logIn"]
    assert logged_in["user"]["id"] == other.id
    assert logged_in["user"]["email"] == other.email
