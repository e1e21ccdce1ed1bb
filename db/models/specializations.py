"""Specializations: the topics interviews are about (admins manage them; archived ones take no new
slots but keep their history)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Index,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin


class Specialization(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "specializations"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 80", name="name_length"),
        Index("uq_specializations_lower_name", func.lower(text("name")), unique=True),
    )

    name: Mapped[str] = mapped_column(Text)
    archived_at: Mapped[datetime | None]
