"""Members, their specializations, sessions (refresh tokens) and external (OAuth/OIDC) identities."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import Role, sql_values
from db.base import Base, CreatedAtMixin, IdMixin


class User(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("points_balance >= 0", name="points_balance_non_negative"),
        CheckConstraint(f"role IN ({sql_values(Role)})", name="role_valid"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("char_length(display_name) BETWEEN 1 AND 80", name="display_name_length"),
        CheckConstraint("char_length(bio) <= 2000", name="bio_length"),
        CheckConstraint("strikes >= 0", name="strikes_non_negative"),
    )

    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(80))
    bio: Mapped[str] = mapped_column(Text, server_default="")
    timezone: Mapped[str] = mapped_column(Text, server_default="UTC")
    role: Mapped[str] = mapped_column(Text, server_default=Role.MEMBER.value)
    points_balance: Mapped[int] = mapped_column(server_default="0")
    strikes: Mapped[int] = mapped_column(server_default="0")
    email_verified: Mapped[bool] = mapped_column(server_default="false")
    blocked_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]
    block_reason: Mapped[str | None] = mapped_column(Text)
    calendar_token: Mapped[str] = mapped_column(
        Text,
        unique=True,
        server_default=text("replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')"),
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class UserSpecialization(Base):
    __tablename__ = "user_specializations"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    specialization_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("specializations.id", ondelete="CASCADE"), primary_key=True
    )


class RefreshToken(IdMixin, CreatedAtMixin, Base):
    """One opaque refresh token (stored as a SHA-256 hash); a family is one login's rotation chain."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class OAuthIdentity(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "oauth_identities"
    __table_args__ = (Index("uq_oauth_identities_provider_subject", "provider", "subject", unique=True),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
