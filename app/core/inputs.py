"""What every value from outside must satisfy before the domain works with it (one definition, used
by the GraphQL schema for every argument and by the domain's own checks for other callers).

- Text must be storable: PostgreSQL's `text` cannot hold NUL, and a lone UTF-16 surrogate (which
  JSON's `\\ud800` escape can produce) has no UTF-8 form, so neither PostgreSQL, the password hasher
  nor a JSON encoder accepts it.
- Times must lie well inside the calendar Python and PostgreSQL share, so that converting them to
  UTC (an offset is less than a day) or adding any duration the rules use cannot overflow.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_EARLIEST_WALL = EARLIEST.replace(tzinfo=None)
_LATEST_WALL = LATEST.replace(tzinfo=None)


def storable_text(value: str) -> bool:
    """False when `value` holds a NUL character or a lone surrogate."""
    return _UNSTORABLE.search(value) is None


def within_calendar(value: datetime) -> bool:
    """True when `value` lies between EARLIEST and LATEST, judged on its wall-clock time: its UTC
    offset is under a day, so the comparison itself never has to convert (and overflow)."""
    return _EARLIEST_WALL <= value.replace(tzinfo=None) <= _LATEST_WALL
