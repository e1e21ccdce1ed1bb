"""The product's closed vocabularies, owned here and used by models, domain operations and schema.

They are `StrEnum`s: a member equals its stored text (`Role.ADMIN == "ADMIN"`), so the database
columns stay plain text guarded by CHECK constraints built from these values.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    MEMBER = "MEMBER"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


STAFF_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})


class SlotStatus(StrEnum):
    OPEN = "OPEN"
    BOOKED = "BOOKED"
    WITHDRAWN = "WITHDRAWN"


class InterviewStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"


FINISHED_STATUSES = frozenset({InterviewStatus.COMPLETED, InterviewStatus.CANCELLED, InterviewStatus.NO_SHOW})


class LedgerKind(StrEnum):
    GRANT = "GRANT"
    SPEND = "SPEND"
    REFUND = "REFUND"
    REWARD = "REWARD"
    PENALTY = "PENALTY"
    ADJUSTMENT = "ADJUSTMENT"


class NotificationKind(StrEnum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    REMINDER = "REMINDER"
    FEEDBACK_RECEIVED = "FEEDBACK_RECEIVED"
    NO_SHOW_RESOLVED = "NO_SHOW_RESOLVED"
    POINTS_CHANGED = "POINTS_CHANGED"
    BOOKING_CONFIRMED = "BOOKING_CONFIRMED"  # to the candidate; BOOKED goes to the interviewer
    INTERVIEW_STARTED = "INTERVIEW_STARTED"
    INTERVIEW_COMPLETED = "INTERVIEW_COMPLETED"
    NO_SHOW_REPORTED = "NO_SHOW_REPORTED"
    ADMIN_MESSAGE = "ADMIN_MESSAGE"  # a moderator's or admin's message to the member
    MATCH_FOUND = "MATCH_FOUND"  # the matching queue paired the member (to both sides)


class DeliveryChannel(StrEnum):
    """Where a notification goes besides the app (in-app is always on)."""

    EMAIL = "EMAIL"
    WEBHOOK = "WEBHOOK"
    WEB_PUSH = "WEB_PUSH"  # one delivery per push subscription (browser)
    TELEGRAM = "TELEGRAM"  # the member's linked Telegram chat


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # queued or waiting for a retry
    SENT = "SENT"
    FAILED = "FAILED"  # dead-lettered: every attempt failed, or the target is gone


class NoShowStatus(StrEnum):
    OPEN = "OPEN"
    UPHELD = "UPHELD"
    REJECTED = "REJECTED"


class UploadKind(StrEnum):
    AVATAR = "AVATAR"
    RESUME = "RESUME"


class SlotEventKind(StrEnum):
    """What happened to a slot on the board (the `openSlotsChanged` event kinds)."""

    PUBLISHED = "PUBLISHED"
    BOOKED = "BOOKED"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"
    UPDATED = "UPDATED"  # the host changed an open slot's time, duration, link or title


class QuestionDifficulty(StrEnum):
    """How hard a question of a specialization's question bank is."""

    EASY = "EASY"
    MEDIUM = "MEDIUM"
    HARD = "HARD"


class MatchRole(StrEnum):
    """The part a member wants to play when joining the matching queue."""

    INTERVIEWER = "INTERVIEWER"
    CANDIDATE = "CANDIDATE"
    EITHER = "EITHER"


class MatchLevel(StrEnum):
    """The seniority a member practises for in the matching queue."""

    JUNIOR = "JUNIOR"
    MIDDLE = "MIDDLE"
    SENIOR = "SENIOR"


class MatchTicketStatus(StrEnum):
    """Where a ticket of the matching queue stands."""

    WAITING = "WAITING"
    MATCHED = "MATCHED"
    CANCELLED = "CANCELLED"  # the member left the queue
    EXPIRED = "EXPIRED"  # nobody compatible came within MATCH_TICKET_TTL_SECONDS


class ApiKeyScope(StrEnum):
    """What an API key may do."""

    READ = "READ"
    READ_WRITE = "READ_WRITE"


class ControlKind(StrEnum):
    """Messages on a member's control channel."""

    BLOCKED = "BLOCKED"
    LOGGED_OUT = "LOGGED_OUT"  # every session and API key revoked
    SESSIONS_REVOKED = "SESSIONS_REVOKED"  # `sessions` (family ids) revoked; API keys too if `apiKeys`
    ROLE_CHANGED = "ROLE_CHANGED"


def sql_values(members: Iterable[StrEnum]) -> str:
    """`'A', 'B'` for SQL (a CHECK constraint, a partial index): every value of an enum class, or the
    members given, in their order."""
    return ", ".join(f"'{member.value}'" for member in members)
