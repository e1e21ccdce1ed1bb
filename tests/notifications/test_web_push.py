"""Web push: members register browsers; each notification reaches each browser once, encrypted for it
(RFC 8291) with a VAPID token (RFC 8292), checked by a real push endpoint on loopback; a subscription
the push service calls gone (404/410) is removed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.web_push import Vapid, WebPushKeyError
from db.models import Delivery
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, db_id
from tests.notifications.delivery_support import running_workers, settled, worker_services
from tests.notifications.reach_support import PushService, push_service, vapid_keys
from tests.notifications.test_job_queue import move_points

REGISTER = "mutation($input: PushSubscriptionInput!) { registerPushSubscription(input: $input) }"
REMOVE = "mutation($endpoint: String!) { removePushSubscription(endpoint: $endpoint) }"
PREFERENCES = "query { notificationPreferences { pushSubscriptions webPushPublicKey } }"


@pytest.fixture
async def push(app_state: Services) -> AsyncIterator[PushService]:
    """A loopback push service, and the app configured with a VAPID key pair."""
    public, private = vapid_keys()
    original = app_state.settings
    app_state.settings = original.model_copy(
        update={
            "vapid_public_key": public,
            "vapid_private_key": private,
            "vapid_subject": "mailto:ops@example.com",
        }
    )
    try:
        async with push_service(public) as service:
            yield service
    finally:
        app_state.settings = original


async def test_register_and_remove_subscriptions(client: GraphQLClient, push: PushService) -> None:
    owner, other = await client.sign_up("browser"), await client.sign_up("other")
    laptop = push.subscription("laptop")
    assert await client.error_code(REGISTER, {"input": laptop}) == "UNAUTHENTICATED"
    assert (await client.data(REGISTER, {"input": laptop}, token=owner.access_token))[
        "registerPushSubscription"
    ]
    assert (await client.data(REGISTER, {"input": laptop}, token=owner.access_token))[
        "registerPushSubscription"
    ]
    read = (await client.data(PREFERENCES, token=owner.access_token))["notificationPreferences"]
    assert read == {"pushSubscriptions": 1, "webPushPublicKey": push.vapid_public_key}  # once per browser
    for bad in (
        {**laptop, "endpoint": "ftp://push.example.com/x"},
        {**laptop, "p256dh": "AAAA"},  # not a P-256 point
        {**laptop, "auth": "c2hvcnQ"},  # not 16 octets
        {**laptop, "endpoint": "https://push.example.com/\x00"},
    ):
        assert await client.error_code(REGISTER, {"input": bad}, token=owner.access_token) == "BAD_USER_INPUT"
    # Only the owner removes it; an endpoint is one browser, so another member registering it takes it.
    endpoint = {"endpoint": laptop["endpoint"]}
    assert (await client.data(REMOVE, endpoint, token=other.access_token))["removePushSubscription"] is False
    assert (await client.data(REMOVE, endpoint, token=owner.access_token))["removePushSubscription"] is True
    assert (await client.data(REMOVE, endpoint, token=owner.access_token))["removePushSubscription"] is False
    await client.data(REGISTER, {"input": laptop}, token=owner.access_token)
    await client.data(REGISTER, {"input": laptop}, token=other.access_token)
    counts = [
        (await client.data(PREFERENCES, token=m.access_token))["notificationPreferences"]["pushSubscriptions"]
        for m in (owner, other)
    ]
    assert counts == [0, 1]


async def test_each_browser_gets_each_notification_once_encrypted_and_signed(
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    app_state: Services,
    database_url: str,
    push: PushService,
) -> None:
    member = await committing_client.sign_up("pushed")
    for name in ("laptop", "phone", "old-tablet"):
        variables = {"input": push.subscription(name)}
        await committing_client.data(REGISTER, variables, token=member.access_token)
    push.status_for = lambda name: 410 if name == "old-tablet" else 201
    services = worker_services(app_state, engine)
    await move_points(services, member, 3)  # POINTS_CHANGED goes to web push by default
    async with running_workers(services, database_url):
        rows = await settled(engine, 6)  # the old tablet's three are gone with it
    assert push.refused == []  # every request carried a valid VAPID token and decrypted
    assert [(row.channel, row.status, row.response_status) for row in rows] == [("WEB_PUSH", "SENT", 201)] * 6
    by_browser = {name: sorted(doc["id"] for n, doc in push.received if n == name) for name in push.browsers}
    assert (len(by_browser["laptop"]), len(by_browser["phone"])) == (3, 3)
    assert sorted(by_browser["laptop"] + by_browser["phone"]) == [row.id for row in rows]  # each once
    assert 1 <= len(by_browser["old-tablet"]) <= 3  # tried until the first 410 removed it
    [(_, document), *_] = push.received
    assert (document["kind"], document["title"]) == ("POINTS_CHANGED", "Your points balance changed")
    assert "Balance after" in document["body"]
    assert document["notification_id"] > 0
    read = await committing_client.data(PREFERENCES, token=member.access_token)
    assert read["notificationPreferences"]["pushSubscriptions"] == 2
    async with engine.connect() as conn:
        channels = (
            await conn.execute(select(Delivery.channel).where(Delivery.user_id == db_id(member.id)))
        ).all()
    assert len(channels) == 6


def test_vapid_settings_must_be_a_key_pair_and_a_contact() -> None:
    public, private = vapid_keys()
    other_public, _ = vapid_keys()
    assert Vapid(public, private, "mailto:ops@example.com").public_key == public
    for args in (
        (other_public, private, "mailto:ops@example.com"),
        (public, "not-a-key", "mailto:ops@example.com"),
        (public, private, "ops@example.com"),
    ):
        with pytest.raises(WebPushKeyError):
            Vapid(*args)
