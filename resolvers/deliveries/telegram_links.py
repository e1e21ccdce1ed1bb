"""Linking a member's Telegram chat: `linkTelegram` hands a one-time deep link
(`https://t.me/<bot>?start=<code>`); the bot's `/start <code>` update, read by a periodic job with
getUpdates, links the chat that sent it. `/stop` in the chat, or `unlinkTelegram`, unlinks it.

The getUpdates offset lives in `telegram_bot_state` and is advanced in the transaction that applies
the updates, under the row's lock: overlapping runs wait for each other, and a run that dies before
its commit leaves the updates unconfirmed, so Telegram hands them out again (applying one twice finds
its code already used).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict
from app.core.settings import Settings
from app.core.telegram import TelegramBot, TelegramError, Update, bot_id
from db.models import TelegramBotState, TelegramChat, TelegramLinkCode, User
from resolvers.unit_of_work import UnitOfWork

LINKED = "Linked: your Mock Interview notifications will come here. Send /stop to unlink this chat."
EXPIRED = "This link is invalid, used or expired: ask the app for a new one."
UNLINKED = "Unlinked: no more notifications here."
_usernames: dict[tuple[str, str], str] = {}  # per bot: getMe once per process


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True)
class TelegramLink:
    url: str
    expires_at: datetime


async def bot_username(settings: Settings) -> str:
    """The bot's @username for deep links (getMe, once per process and bot)."""
    token = settings.telegram_bot_token
    if not token:
        raise Conflict("Telegram is not set up on this server.")
    key = (settings.telegram_api_url, token)
    if key not in _usernames:
        async with httpx.AsyncClient(trust_env=False) as http:
            bot = TelegramBot(settings.telegram_api_url, token, http, settings.telegram_timeout_seconds)
            try:
                _usernames[key] = await bot.username()
            except TelegramError as exc:
                raise Conflict("Telegram cannot be reached; try again later.") from exc
    return _usernames[key]


async def link_telegram(uow: UnitOfWork, actor: User) -> TelegramLink:
    """A new one-time deep link for the actor (earlier ones stop working)."""
    username = await bot_username(uow.settings)
    code = secrets.token_urlsafe(24)  # 32 characters of Telegram's start alphabet
    now = uow.now()
    expires_at = now + timedelta(seconds=uow.settings.telegram_link_ttl_seconds)
    async with uow.db.transaction() as session:
        await session.execute(
            delete(TelegramLinkCode).where(
                or_(TelegramLinkCode.user_id == actor.id, TelegramLinkCode.expires_at <= now)
            )
        )
        session.add(TelegramLinkCode(code_hash=code_hash(code), user_id=actor.id, expires_at=expires_at))
    return TelegramLink(url=f"https://t.me/{username}?start={code}", expires_at=expires_at)


async def unlink_telegram(uow: UnitOfWork, actor: User) -> bool:
    """Forget the actor's chat; False when none was linked."""
    async with uow.db.transaction() as session:
        removed = await session.execute(
            delete(TelegramChat).where(TelegramChat.user_id == actor.id).returning(TelegramChat.chat_id)
        )
        return removed.first() is not None


async def _link(session: AsyncSession, chat_id: int, code: str, now: datetime) -> str:
    found = await session.execute(
        delete(TelegramLinkCode)
        .where(TelegramLinkCode.code_hash == code_hash(code), TelegramLinkCode.expires_at > now)
        .returning(TelegramLinkCode.user_id)
    )
    user_id = found.scalar()
    if user_id is None:
        return EXPIRED
    # A chat reaches one member, a member one chat: the newest link wins on both sides.
    await session.execute(
        delete(TelegramChat).where(or_(TelegramChat.chat_id == chat_id, TelegramChat.user_id == user_id))
    )
    session.add(TelegramChat(user_id=user_id, chat_id=chat_id, linked_at=now))
    await session.flush()
    return LINKED


async def _apply(session: AsyncSession, update: Update, now: datetime) -> str | None:
    """The reply to one message update, if any."""
    command, _, argument = update.text.strip().partition(" ")
    if update.chat_id is None:
        return None
    if command == "/start" and argument.strip():
        return await _link(session, update.chat_id, argument.strip(), now)
    if command == "/stop":
        await session.execute(delete(TelegramChat).where(TelegramChat.chat_id == update.chat_id))
        return UNLINKED
    if command == "/start":
        return EXPIRED
    return None


async def _locked_offset(session: AsyncSession, bot: int) -> TelegramBotState:
    await session.execute(insert(TelegramBotState).values(bot_id=bot).on_conflict_do_nothing())
    state = await session.scalar(
        select(TelegramBotState).where(TelegramBotState.bot_id == bot).with_for_update()
    )
    assert state is not None
    return state


async def receive_updates(uow: UnitOfWork, bot: TelegramBot, *, limit: int = 100) -> int:
    """Apply the bot's pending updates (one batch of at most `limit`), then answer them; the number
    applied. Raises TelegramError when Telegram cannot be reached (the next run tries again)."""
    replies: list[tuple[int, str]] = []
    async with uow.db.transaction() as session:
        state = await _locked_offset(session, bot_id(bot.token))
        updates = await bot.updates(state.update_offset, limit=limit)
        for update in updates:
            reply = await _apply(session, update, uow.now())
            if reply is not None and update.chat_id is not None:
                replies.append((update.chat_id, reply))
        if updates:
            state.update_offset = max(u.update_id for u in updates) + 1
    for chat_id, text in replies:  # after the commit: an answer never claims what did not happen
        with contextlib.suppress(TelegramError):  # a courtesy; the link itself is done
            await bot.send_message(chat_id, text)
    return len(updates)
