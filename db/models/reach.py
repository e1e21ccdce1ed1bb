"""Where a member is reached outside the app besides email and webhooks: browsers' web push
subscriptions and a linked Telegram chat (with its one-time link codes and the bot's update offset)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin


class PushSubscription(IdMixin, CreatedAtMixin, Base):
    """One browser's push subscription (RFC 8030 endpoint, RFC 8291 keys, base64url)."""

    __tablename__ = "push_subscriptions"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(Text)
    auth: Mapped[str] = mapped_column(Text)


class TelegramChat(Base):
    """The Telegram chat a member linked (a chat belongs to at most one member)."""

    __tablename__ = "telegram_chats"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    linked_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TelegramLinkCode(Base):
    """A one-time `/start` code of a deep link, stored as its SHA-256 (the link is the credential)."""

    __tablename__ = "telegram_link_codes"

    code_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TelegramBotState(Base):
    """The next getUpdates offset of a bot (by the bot id that starts its token)."""

    __tablename__ = "telegram_bot_state"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_offset: Mapped[int] = mapped_column(BigInteger, server_default="0")
