"""Input checks shared by resolvers; each failure is a BAD_USER_INPUT naming its field."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.core.errors import BadUserInput
from app.core.inputs import storable_text

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_TIMEZONES = frozenset(available_timezones())


def text(value: str, field: str, *, min_length: int, max_length: int, strip: bool = True) -> str:
    """`value` (stripped) when its length is within bounds."""
    cleaned = value.strip() if strip else value
    if not storable_text(cleaned):
        raise BadUserInput(f"`{field}` must not contain NUL characters or unpaired surrogates.", field=field)
    if not min_length <= len(cleaned) <= max_length:
        raise BadUserInput(f"`{field}` must be {min_length}-{max_length} characters long.", field=field)
    return cleaned


def email(value: str) -> str:
    cleaned = value.strip().lower()
    if len(cleaned) > 254 or not EMAIL_PATTERN.match(cleaned) or not storable_text(cleaned):
        raise BadUserInput("`email` is not a valid email address.", field="email")
    return cleaned


def password(value: str) -> str:
    if not 8 <= len(value) <= 256:
        raise BadUserInput("`password` must be 8-256 characters long.", field="password")
    if not storable_text(value):  # the hasher needs UTF-8
        raise BadUserInput(
            "`password` must not contain NUL characters or unpaired surrogates.", field="password"
        )
    return value


def timezone(value: str) -> str:
    """An IANA time zone name such as 'Europe/Berlin'."""
    if value not in _TIMEZONES:
        raise BadUserInput("`timezone` must be an IANA time zone name.", field="timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadUserInput("`timezone` must be an IANA time zone name.", field="timezone") from exc
    return value
