"""The subset of Telegram's Bot API this server speaks (getMe, getUpdates, sendMessage), on httpx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

# Telegram's deep links carry at most 64 characters of [A-Za-z0-9_-] in `start`.
START_PARAMETER_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class TelegramError(Exception):
    """A failed call: `status` is the HTTP status (None when no answer came), `retry_after` the
    seconds Telegram asks to wait (429)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def bot_id(token: str) -> int:
    """The bot's numeric id: the part of its token before the colon."""
    head, _, _ = token.partition(":")
    if not head.isdigit():
        raise ValueError("TELEGRAM_BOT_TOKEN is not <bot id>:<secret>")
    return int(head)


@dataclass(frozen=True)
class Update:
    """A message update: its id, the chat it came from and the message text."""

    update_id: int
    chat_id: int | None
    text: str


def _update(raw: dict[str, Any]) -> Update:
    message = raw.get("message") or {}
    chat = message.get("chat") or {}
    chat_id = chat.get("id") if chat.get("type", "private") == "private" else None
    text = message.get("text")
    return Update(int(raw["update_id"]), chat_id if isinstance(chat_id, int) else None, str(text or ""))


@dataclass(frozen=True)
class TelegramBot:
    """Calls `{api_url}/bot{token}/{method}`; every answer is `{"ok", "result"}` or an error."""

    api_url: str
    token: str
    http: httpx.AsyncClient
    timeout: float = 10.0

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        url = f"{self.api_url.rstrip('/')}/bot{self.token}/{method}"
        try:
            response = await self.http.post(url, json=body, timeout=self.timeout)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            # The URL holds the token: say only what failed.
            raise TelegramError(f"{method}: {type(exc).__name__}") from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            answer = answer if isinstance(answer, dict) else {}
            parameters = answer.get("parameters") or {}
            raise TelegramError(
                f"{method}: HTTP {response.status_code} {answer.get('description', '')}".strip(),
                status=response.status_code,
                retry_after=parameters.get("retry_after"),
            )
        return answer["result"]

    async def username(self) -> str:
        me = await self.call("getMe", {})
        return str(me["username"])

    async def updates(self, offset: int, *, limit: int = 100) -> list[Update]:
        """Message updates from `offset` on (which confirms every earlier one to Telegram)."""
        raw = await self.call(
            "getUpdates", {"offset": offset, "limit": limit, "timeout": 0, "allowed_updates": ["message"]}
        )
        return [_update(item) for item in raw]

    async def send_message(self, chat_id: int, text: str) -> None:
        await self.call(
            "sendMessage", {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        )
