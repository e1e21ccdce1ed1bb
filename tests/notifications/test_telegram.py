"""Telegram: `linkTelegram` hands a one-time deep link, the bot's `/start CODE` update (read by the
periodic job with getUpdates, its offset kept in the database) links the chat, notifications arrive
there once, and a chat that blocked the bot is unlinked. Against a Bot API server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import Clock
from app.core.telegram import START_PARAMETER_ALPHABET, TelegramBot
from app.jobs.housekeeping import receive_telegram_updates
from db.models import TelegramBotState
from resolvers.deliveries.telegram_links import EXPIRED, LINKED, UNLINKED
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, Member
from tests.notifications.delivery_support import running_workers, settled, worker_services
from tests.notifications.reach_support import BotApi, bot_api
from tests.notifications.test_job_queue import move_points

LINK = "mutation { linkTelegram { url expiresAt } }"
UNLINK = "mutation { unlinkTelegram }"
LINKED_QUERY = "query { notificationPreferences { telegramLinked } }"


@pytest.fixture
async def bot(app_state: Services) -> AsyncIterator[BotApi]:
    """A loopback Bot API, the app configured with its URL and the bot's token."""
    original = app_state.settings
    async with bot_api() as (url, api):
        app_state.settings = original.model_copy(
            update={
                "telegram_bot_token": api.token,
                "telegram_api_url": url,
                "telegram_poll_schedule": "* * * * * *",
            }
        )
        try:
            yield api
        finally:
            app_state.settings = original


async def start_code(client: GraphQLClient, member: Member, clock: Clock, ttl: int = 900) -> str:
    link = (await client.data(LINK, token=member.access_token))["linkTelegram"]
    parts = urlsplit(link["url"])
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", "/mock_interview_bot")
    expires = datetime.fromisoformat(link["expiresAt"])
    assert abs(expires - clock.now() - timedelta(seconds=ttl)) < timedelta(seconds=5)
    [code] = parse_qs(parts.query)["start"]
    assert len(code) <= 64
    assert set(code) <= START_PARAMETER_ALPHABET
    return str(code)


async def linked(client: GraphQLClient, member: Member) -> bool:
    data = await client.data(LINKED_QUERY, token=member.access_token)
    return bool(data["notificationPreferences"]["telegramLinked"])


async def wait_for(condition: object, within: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)


async def test_link_by_start_code_then_messages_once_and_unlinked_when_blocked(
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    app_state: Services,
    database_url: str,
    clock: Clock,
    bot: BotApi,
) -> None:
    member = await committing_client.sign_up("tg")
    assert await committing_client.error_code(LINK) == "UNAUTHENTICATED"
    stale = await start_code(committing_client, member, clock)
    code = await start_code(committing_client, member, clock)  # a new link voids the previous one
    bot.user_sends(888, f"/start {stale}")
    bot.user_sends(999, "hello")
    bot.user_sends(777, f"/start {code}")
    services = worker_services(app_state, engine)
    async with running_workers(services, database_url):  # the periodic job reads the updates
        await wait_for(lambda: linked(committing_client, member))
        bot.user_sends(555, f"/start {code}")  # used once already
        await wait_for(lambda: asyncio.sleep(0, result=(555, EXPIRED) in bot.sent))
        assert sorted(bot.sent) == [(555, EXPIRED), (777, LINKED), (888, EXPIRED)]
        async with engine.connect() as conn:
            offset = (await conn.execute(select(TelegramBotState.update_offset))).scalar_one()
        assert offset == bot.next_update_id  # every update confirmed, none applied twice
        bot.sent.clear()
        await move_points(services, member, 2)
        rows = await settled(engine, 2)
        assert [(r.channel, r.status) for r in rows] == [("TELEGRAM", "SENT")] * 2
        assert [chat for chat, _ in bot.sent] == [777, 777]
        assert bot.sent[0][1].startswith("Your points balance changed\nAmount: 1")
        bot.blocked.add(777)  # the member blocked the bot: the chat is unlinked, nothing retried
        await move_points(services, member, 1)
        rows = await settled(engine, 3)
    assert (rows[-1].status, rows[-1].attempts, rows[-1].response_status) == ("FAILED", 1, 403)
    assert not await linked(committing_client, member)
    assert (await committing_client.data(UNLINK, token=member.access_token))["unlinkTelegram"] is False


async def test_expired_codes_stop_unlink_and_overlapping_runs_apply_each_update_once(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, clock: Clock, bot: BotApi
) -> None:
    app_state.settings = app_state.settings.model_copy(update={"telegram_link_ttl_seconds": 60})
    late = await committing_client.sign_up("late")
    expired = await start_code(committing_client, late, clock, ttl=60)
    clock.shift(timedelta(minutes=2))
    services = worker_services(app_state, engine)
    settings = services.settings
    async with httpx.AsyncClient() as http:
        telegram = TelegramBot(settings.telegram_api_url, settings.telegram_bot_token or "", http)
        bot.user_sends(1, f"/start {expired}")
        assert await receive_telegram_updates(services, telegram) == 1
        assert bot.sent == [(1, EXPIRED)]
        member = await committing_client.sign_up("member")
        bot.user_sends(2, f"/start {await start_code(committing_client, member, clock, ttl=60)}")
        bot.user_sends(3, "/start")
        applied = await asyncio.gather(*(receive_telegram_updates(services, telegram) for _ in range(3)))
        assert sum(applied) == 2  # the offset row's lock: one run applied them, the others found none
        assert sorted(bot.sent) == [(1, EXPIRED), (2, LINKED), (3, EXPIRED)]
        assert await linked(committing_client, member)
        assert not await linked(committing_client, late)
        bot.user_sends(2, "/stop")
        await receive_telegram_updates(services, telegram)
    assert bot.sent[-1] == (2, UNLINKED)
    assert not await linked(committing_client, member)


async def test_link_telegram_without_a_bot_is_a_conflict(client: GraphQLClient) -> None:
    member = await client.sign_up("nobot")
    assert await client.error_code(LINK, token=member.access_token) == "CONFLICT"
