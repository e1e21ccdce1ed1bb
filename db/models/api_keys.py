"""API keys: long-lived credentials for integrations, stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import ApiKeyScope, sql_values
from db.base import Base, CreatedAtMixin, IdMixin


class ApiKey(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(f"scope IN ({sql_values(ApiKeyScope)})", name="scope_valid"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    scope: Mapped[str] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
