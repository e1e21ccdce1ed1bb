"""All ORM models, one module per feature; import from here so alembic sees the full metadata."""

from db.models.accounts import OAuthIdentity, RefreshToken, User, UserSpecialization
from db.models.api_keys import ApiKey
from db.models.audit import AuditEntry
from db.models.chat import Message
from db.models.content import (
    CriterionScore,
    InterviewQuestion,
    InterviewResult,
    Question,
    Rubric,
    RubricCriterion,
)
from db.models.deliveries import Delivery, NotificationPreference, NotificationSettings, Webhook
from db.models.interviews import Feedback, Interview
from db.models.matching import Match, MatchTicket
from db.models.moderation import Block, NoShowReport
from db.models.notifications import Notification
from db.models.points import PointsEntry
from db.models.reach import PushSubscription, TelegramBotState, TelegramChat, TelegramLinkCode
from db.models.slots import Slot
from db.models.specializations import Specialization
from db.models.uploads import Upload

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Block",
    "CriterionScore",
    "Delivery",
    "Feedback",
    "Interview",
    "InterviewQuestion",
    "InterviewResult",
    "Match",
    "MatchTicket",
    "Message",
    "NoShowReport",
    "Notification",
    "NotificationPreference",
    "NotificationSettings",
    "OAuthIdentity",
    "PointsEntry",
    "PushSubscription",
    "Question",
    "RefreshToken",
    "Rubric",
    "RubricCriterion",
    "Slot",
    "Specialization",
    "TelegramBotState",
    "TelegramChat",
    "TelegramLinkCode",
    "Upload",
    "User",
    "UserSpecialization",
    "Webhook",
]
