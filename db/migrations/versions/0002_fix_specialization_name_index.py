"""Make the specialization name index unique per name (0001 indexed the constant lower('name'))

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS uq_specializations_lower_name")
    op.execute("CREATE UNIQUE INDEX uq_specializations_lower_name ON specializations (lower(name))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS uq_specializations_lower_name")
    op.execute("CREATE UNIQUE INDEX uq_specializations_lower_name ON specializations (lower('name'))")
