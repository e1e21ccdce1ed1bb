"""API keys, external (OAuth/OIDC) identities and uploaded files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin


class ApiKey(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('READ', 'READ_WRITE')", name="scope_valid"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    scope: Mapped[str] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class OAuthIdentity(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "oauth_identities"
    __table_args__ = (Index("uq_oauth_identities_provider_subject", "provider", "subject", unique=True),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)


class Upload(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint("kind IN ('AVATAR', 'RESUME')", name="kind_valid"),
        Index("ix_uploads_owner_id_kind", "owner_id", "kind"),
    )

    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(Text, unique=True)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
