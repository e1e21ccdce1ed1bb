"""Webhooks: the secret shown once, only the owner sees and deletes them, URLs checked against SSRF."""

from __future__ import annotations

import dataclasses

import pytest

from app.core.enums import NotificationKind
from app.core.errors import BadUserInput
from app.core.netguard import UnsafeUrl, check_url_shape
from db.models import User
from resolvers.deliveries.webhooks import create_webhook
from resolvers.unit_of_work import Services, UnitOfWork
from tests.helpers import GraphQLClient, db_id

CREATE = """mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { id url events disabledAt consecutiveFailures } } }"""
LIST = "query { webhooks { id url events } }"
DELETE = "mutation($id: ID!) { deleteWebhook(id: $id) }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Webhook { url } } }"


async def test_owner_only_and_the_secret_once(client: GraphQLClient) -> None:
    owner, other = await client.sign_up("owner"), await client.sign_up("other")
    variables = {"input": {"url": "http://127.0.0.1:8123/in", "events": ["BOOKED", "CANCELLED", "BOOKED"]}}
    created = (await client.data(CREATE, variables, token=owner.access_token))["createWebhook"]
    assert created["secret"].startswith("whsec_")
    hook = created["webhook"]
    assert (hook["events"], hook["disabledAt"], hook["consecutiveFailures"]) == (
        ["BOOKED", "CANCELLED"],
        None,
        0,
    )
    assert (await client.data(LIST, token=owner.access_token))["webhooks"] == [
        {"id": hook["id"], "url": "http://127.0.0.1:8123/in", "events": ["BOOKED", "CANCELLED"]}
    ]
    assert (await client.data(LIST, token=other.access_token))["webhooks"] == []
    assert (await client.data(NODE, {"id": hook["id"]}, token=other.access_token))["node"] is None
    assert (await client.data(NODE, {"id": hook["id"]}, token=owner.access_token))["node"]["url"]
    assert await client.error_code(DELETE, {"id": hook["id"]}, token=other.access_token) == "NOT_FOUND"
    assert (await client.data(DELETE, {"id": hook["id"]}, token=owner.access_token))["deleteWebhook"] is True
    assert (await client.data(LIST, token=owner.access_token))["webhooks"] == []
    assert await client.error_code(CREATE, variables) == "UNAUTHENTICATED"
    for bad in (
        {"url": "ftp://example.com/x", "events": ["BOOKED"]},
        {"url": "https://e.com/x", "events": []},
    ):
        assert await client.error_code(CREATE, {"input": bad}, token=owner.access_token) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:192.168.0.1]/hook",
        "https://localhost/hook",
        "https://printer.local/hook",
        "https://user:pw@example.com/hook",
    ],
)
def test_production_refuses_urls_inside_the_network(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url_shape(url, allow_private=False)


def test_production_accepts_public_https_and_development_accepts_loopback() -> None:
    assert check_url_shape("https://hooks.example.com/in", allow_private=False) == "hooks.example.com"
    assert check_url_shape("https://93.184.216.34/in", allow_private=False) == "93.184.216.34"
    assert check_url_shape("http://127.0.0.1:9000/in", allow_private=True) == "127.0.0.1"


async def test_create_webhook_in_production_refuses_loopback(
    client: GraphQLClient, app_state: Services
) -> None:
    member = await client.sign_up("prod")
    production = dataclasses.replace(
        app_state, settings=app_state.settings.model_copy(update={"app_env": "production"})
    )
    uow = UnitOfWork.open(production)
    try:
        actor = User(id=db_id(member.id), email=member.email, display_name="prod")
        with pytest.raises(BadUserInput):
            await create_webhook(uow, actor, "http://127.0.0.1:9/hook", [NotificationKind.BOOKED])
    finally:
        await uow.close()
