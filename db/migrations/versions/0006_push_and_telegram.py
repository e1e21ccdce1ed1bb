"""Web push subscriptions and Telegram links: two more delivery channels.

A web push delivery names its subscription (one per browser), as a webhook delivery names its
webhook; the uniqueness of deliveries takes the subscription in. Telegram keeps one chat per member,
one-time link codes (stored hashed) and the bot's getUpdates offset.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

OLD_CHANNELS = "'EMAIL', 'WEBHOOK'"
NEW_CHANNELS = "'EMAIL', 'WEBHOOK', 'WEB_PUSH', 'TELEGRAM'"
UNIQUE = "uq_deliveries_notification_channel_webhook"


def _user_id(table: str, *, primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE", name=op.f(f"fk_{table}_user_id_users")),
        primary_key=primary_key,
        nullable=False,
    )


def _push_subscriptions() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        _user_id("push_subscriptions"),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.Text(), nullable=False),
        sa.Column("auth", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(op.f("ix_push_subscriptions_user_id"), "push_subscriptions", ["user_id"])


def _telegram() -> None:
    op.create_table(
        "telegram_chats",
        _user_id("telegram_chats", primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_telegram_chats")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_telegram_chats_chat_id")),
    )
    op.create_table(
        "telegram_link_codes",
        sa.Column("code_hash", sa.Text(), nullable=False),
        _user_id("telegram_link_codes"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_telegram_link_codes")),
    )
    op.create_index(op.f("ix_telegram_link_codes_user_id"), "telegram_link_codes", ["user_id"])
    op.create_index(op.f("ix_telegram_link_codes_expires_at"), "telegram_link_codes", ["expires_at"])
    op.create_table(
        "telegram_bot_state",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_offset", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_telegram_bot_state")),
    )


def _deliveries() -> None:
    op.add_column(
        "deliveries",
        sa.Column(
            "push_subscription_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "push_subscriptions.id",
                ondelete="CASCADE",
                name=op.f("fk_deliveries_push_subscription_id_push_subscriptions"),
            ),
            nullable=True,
        ),
    )
    op.create_index("ix_deliveries_push_subscription_id", "deliveries", ["push_subscription_id"])
    op.drop_constraint(op.f("ck_deliveries_channel_valid"), "deliveries", type_="check")
    op.create_check_constraint(
        op.f("ck_deliveries_channel_valid"), "deliveries", f"channel IN ({NEW_CHANNELS})"
    )
    op.create_check_constraint(
        op.f("ck_deliveries_push_iff_channel"),
        "deliveries",
        "(channel = 'WEB_PUSH') = (push_subscription_id IS NOT NULL)",
    )
    op.drop_index(UNIQUE, "deliveries")
    op.create_index(
        UNIQUE,
        "deliveries",
        ["notification_id", "channel", "webhook_id", "push_subscription_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )


def upgrade() -> None:
    _push_subscriptions()
    _telegram()
    _deliveries()


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE channel IN ('WEB_PUSH', 'TELEGRAM')")
    op.drop_index(UNIQUE, "deliveries")
    op.create_index(
        UNIQUE,
        "deliveries",
        ["notification_id", "channel", "webhook_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.drop_constraint(op.f("ck_deliveries_push_iff_channel"), "deliveries", type_="check")
    op.drop_constraint(op.f("ck_deliveries_channel_valid"), "deliveries", type_="check")
    op.create_check_constraint(
        op.f("ck_deliveries_channel_valid"), "deliveries", f"channel IN ({OLD_CHANNELS})"
    )
    op.drop_index("ix_deliveries_push_subscription_id", "deliveries")
    op.drop_column("deliveries", "push_subscription_id")
    op.drop_table("telegram_bot_state")
    op.drop_table("telegram_link_codes")
    op.drop_table("telegram_chats")
    op.drop_table("push_subscriptions")
