"""Uploaded files (avatars, resumes): metadata here, bytes in the storage backend."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import UploadKind, sql_values
from db.base import Base, CreatedAtMixin, IdMixin


class Upload(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_values(UploadKind)})", name="kind_valid"),
        CheckConstraint("(wrapped_key IS NULL) = (key_id IS NULL)", name="sealed_with_key_id"),
        Index("ix_uploads_owner_id_kind", "owner_id", "kind"),
    )

    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(Text, unique=True)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int]  # of the file as uploaded (not as sealed)
    width: Mapped[int | None]
    height: Mapped[int | None]
    # The file's AES-256-GCM data key wrapped by the files key `key_id` names (app/core/file_crypto.py).
    # Both NULL: stored in clear before encryption at rest, served as stored.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(Text)
