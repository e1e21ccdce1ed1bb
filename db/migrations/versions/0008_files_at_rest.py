"""Encrypted files at rest and storage backends.

Each upload row gains its wrapped data key and the id of the files key that wrapped it. Rows stored
before keep both NULL: their files stay in clear and are served as stored.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("uploads", sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
    op.add_column("uploads", sa.Column("key_id", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_uploads_sealed_with_key_id"), "uploads", "(wrapped_key IS NULL) = (key_id IS NULL)"
    )


def downgrade() -> None:
    # Sealed files cannot be read without their wrapped keys: refuse rather than lose them.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM uploads WHERE wrapped_key IS NOT NULL) THEN "
        "RAISE EXCEPTION 'uploads holds encrypted files; downgrading below 0008 would lose their keys'; "
        "END IF; END $$"
    )
    op.drop_constraint(op.f("ck_uploads_sealed_with_key_id"), "uploads", type_="check")
    op.drop_column("uploads", "key_id")
    op.drop_column("uploads", "wrapped_key")
