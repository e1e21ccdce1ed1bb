"""Block history and the list of active blocks for staff, and staff messages to members
(docs/product.md, rule 18 and "Roles")."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import AuditEntry, Block
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import relog
from tests.moderation.test_moderation import BLOCK, UNBLOCK, promote

BLOCK_FIELDS = (
    """id reason createdAt until unblockedAt isActive user { id } blockedBy { id } unblockedBy { id }"""
)
ACTIVE = f"""query($first: Int, $after: String) {{ activeBlocks(first: $first, after: $after) {{
  edges {{ node {{ {BLOCK_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
HISTORY = f"""query($u: ID!) {{ blockHistory(userId: $u) {{ edges {{ node {{ {BLOCK_FIELDS} }} }} }} }}"""
MESSAGE = """mutation($u: ID!, $b: String!) { sendAdminMessage(userId: $u, body: $b) {
  id kind payload readAt } }"""
NOTIFICATIONS = "query { notifications { edges { node { id kind payload } } } }"


def nodes(data: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data[field]["edges"]]


async def test_blocks_keep_a_history_and_staff_list_the_active_ones(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    moderator, admin, target, other, member = [
        await client.sign_up(n) for n in ("mod", "admin", "target", "other", "member")
    ]
    await promote(db_session, moderator, "MODERATOR")
    await promote(db_session, admin, "ADMIN")
    until = (clock.now() + timedelta(hours=2)).isoformat()
    await client.data(BLOCK, {"u": target.id, "r": "spam", "until": until}, token=moderator.access_token)
    await client.data(BLOCK, {"u": target.id, "r": "spam again"}, token=admin.access_token)  # replaces it
    await client.data(BLOCK, {"u": other.id, "r": "abuse"}, token=moderator.access_token)

    active = nodes(await client.data(ACTIVE, token=moderator.access_token), "activeBlocks")
    assert [(b["user"]["id"], b["reason"]) for b in active] == [
        (other.id, "abuse"),
        (target.id, "spam again"),
    ]
    assert all(b["isActive"] and b["unblockedAt"] is None for b in active)
    history = nodes(
        await client.data(HISTORY, {"u": target.id}, token=moderator.access_token), "blockHistory"
    )
    assert [b["reason"] for b in history] == ["spam again", "spam"]
    replaced = history[1]
    assert replaced["blockedBy"]["id"] == moderator.id
    assert replaced["unblockedBy"]["id"] == admin.id
    assert replaced["isActive"] is False
    assert history[0]["until"] is None

    await client.data(UNBLOCK, {"u": target.id}, token=moderator.access_token)
    lifted = nodes(
        await client.data(HISTORY, {"u": target.id}, token=moderator.access_token), "blockHistory"
    )[0]
    assert lifted["unblockedBy"]["id"] == moderator.id
    assert lifted["unblockedAt"] is not None
    page = (await client.data(ACTIVE, {"first": 1}, token=admin.access_token))["activeBlocks"]
    assert [e["node"]["user"]["id"] for e in page["edges"]] == [other.id]
    assert page["pageInfo"]["hasNextPage"] is False

    for query, variables in ((ACTIVE, {}), (HISTORY, {"u": target.id})):
        assert await client.error_code(query, variables, token=member.access_token) == "FORBIDDEN"
        assert await client.error_code(query, variables) == "UNAUTHENTICATED"
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await client.data(node, {"id": lifted["id"]}, token=member.access_token))["node"] is None
    assert (await client.data(node, {"id": lifted["id"]}, token=moderator.access_token))["node"]


async def test_a_temporary_block_that_ran_out_is_not_active_and_a_new_block_closes_it(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    moderator, target = await client.sign_up("mod"), await client.sign_up("target")
    await promote(db_session, moderator, "MODERATOR")
    until = clock.now() + timedelta(minutes=5)
    await client.data(
        BLOCK, {"u": target.id, "r": "cool off", "until": until.isoformat()}, token=moderator.access_token
    )
    clock.shift(timedelta(minutes=6))
    await relog(client, moderator)
    assert nodes(await client.data(ACTIVE, token=moderator.access_token), "activeBlocks") == []
    await client.data(BLOCK, {"u": target.id, "r": "back at it"}, token=moderator.access_token)
    history = nodes(
        await client.data(HISTORY, {"u": target.id}, token=moderator.access_token), "blockHistory"
    )
    ran_out = history[1]
    assert ran_out["unblockedBy"] is None  # nobody lifted it: it ended at its `until`
    assert ran_out["unblockedAt"] == ran_out["until"]
    open_rows = await db_session.scalar(
        select(func.count())
        .select_from(Block)
        .where(Block.user_id == db_id(target.id), Block.unblocked_at.is_(None))
    )
    assert open_rows == 1


async def test_staff_message_a_member_as_a_live_notification(
    client: GraphQLClient, db_session: AsyncSession, app_state: Services
) -> None:
    moderator, member, other = [await client.sign_up(n) for n in ("mod", "member", "other")]
    await promote(db_session, moderator, "MODERATOR")
    channel = app_state.channels.notifications(db_id(member.id))
    async with app_state.hub.subscribe(channel) as feed:
        sent = (
            await client.data(
                MESSAGE, {"u": member.id, "b": "  Please keep your video on.  "}, token=moderator.access_token
            )
        )["sendAdminMessage"]
        event = await asyncio.wait_for(anext(feed), 5)
    assert sent["kind"] == "ADMIN_MESSAGE"
    assert sent["payload"] == {"body": "Please keep your video on.", "senderRole": "MODERATOR"}
    assert event["kind"] == "ADMIN_MESSAGE"
    assert event["id"] == db_id(sent["id"])
    inbox = nodes(await client.data(NOTIFICATIONS, token=member.access_token), "notifications")
    assert [n["id"] for n in inbox] == [sent["id"]]
    assert nodes(await client.data(NOTIFICATIONS, token=other.access_token), "notifications") == []
    audited = await db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "user.messaged")
    )
    assert audited == 1

    await _refused(client, member, moderator, other)


async def _refused(client: GraphQLClient, member: Member, moderator: Member, other: Member) -> None:
    assert (
        await client.error_code(MESSAGE, {"u": other.id, "b": "hi"}, token=member.access_token) == "FORBIDDEN"
    )
    assert await client.error_code(MESSAGE, {"u": other.id, "b": "hi"}) == "UNAUTHENTICATED"
    for body in ("", "   ", "x" * 2001):
        code = await client.error_code(MESSAGE, {"u": other.id, "b": body}, token=moderator.access_token)
        assert code == "BAD_USER_INPUT"
    missing = {"u": "VXNlcjo5OTk5OTk5OQ==", "b": "hi"}  # User:99999999
    assert await client.error_code(MESSAGE, missing, token=moderator.access_token) == "NOT_FOUND"
