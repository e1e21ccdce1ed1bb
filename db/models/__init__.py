"""All ORM models; import from here so alembic sees the full metadata."""

from db.models.accounts import AuditEntry, RefreshToken, Specialization, User, UserSpecialization
from db.models.live import Message, Notification
from db.models.marketplace import Feedback, Interview, NoShowReport, PointsEntry, Slot
from db.models.trust import ApiKey, OAuthIdentity, Upload

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Feedback",
    "Interview",
    "Message",
    "NoShowReport",
    "Notification",
    "OAuthIdentity",
    "PointsEntry",
    "RefreshToken",
    "Slot",
    "Specialization",
    "Upload",
    "User",
    "UserSpecialization",
]
