"""The Telegram channel: a text message to the member's linked chat (linked as in
resolvers/deliveries/telegram_links.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from app.core.telegram import TelegramBot, TelegramError
from db.models import TelegramChat
from resolvers.deliveries.channels import DeliveryFailed, Outgoing
from resolvers.deliveries.content import short_text

# 403: the member blocked the bot or deleted their account; 400 "chat not found". The chat cannot be
# reached again: it is unlinked, and the member links again from the app.
UNREACHABLE_STATUSES = frozenset({400, 403})


@dataclass(frozen=True)
class TelegramChannel:
    bot: TelegramBot

    async def send(self, item: Outgoing) -> int | None:
        chat = await item.session.get(TelegramChat, item.member.id)
        if chat is None:
            raise DeliveryFailed("no Telegram chat linked", permanent=True)
        try:
            await self.bot.send_message(chat.chat_id, short_text(item.notification))
        except TelegramError as exc:
            if exc.status in UNREACHABLE_STATUSES:
                await item.session.execute(delete(TelegramChat).where(TelegramChat.user_id == item.member.id))
                raise DeliveryFailed(str(exc), permanent=True, response_status=exc.status) from exc
            raise DeliveryFailed(str(exc), response_status=exc.status) from exc
        return 200
