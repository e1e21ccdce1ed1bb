"""Notifications keep their payload as clients get it, beside the stored one

`client_payload` is generated from `payload` by `notification_client_payload(jsonb)`: camelCase keys,
and the database ids under `interview_id` and `accused_id` as the global IDs of an Interview and a User
(docs/notifications.md, "Payload"). Reads select it instead of converting every row's payload in
the statement, which was about half of PostgreSQL's time on a page of notifications.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

# A global ID is base64 of "<type>:<id>" (`translate` drops the line breaks PostgreSQL's base64 adds).
# Declared IMMUTABLE for the generated column: `convert_to` and `to_jsonb` are only STABLE because of
# the database encoding and type output settings, which do not change the text made here.
FUNCTION = r"""
CREATE FUNCTION notification_client_payload(stored jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN CASE WHEN jsonb_typeof(stored) <> 'object' THEN stored ELSE (
    SELECT coalesce(
        jsonb_object_agg(
            (SELECT string_agg(CASE WHEN n = 1 THEN part ELSE upper(left(part, 1)) || substr(part, 2) END,
                               '' ORDER BY n)
             FROM unnest(string_to_array(e.key, '_')) WITH ORDINALITY AS w(part, n)),
            CASE WHEN e.key = 'interview_id' AND e.value::text ~ '^-?[0-9]+$'
                 THEN to_jsonb(translate(encode(convert_to('Interview:' || e.value::text, 'UTF8'), 'base64'),
                                         E'\n', ''))
                 WHEN e.key = 'accused_id' AND e.value::text ~ '^-?[0-9]+$'
                 THEN to_jsonb(translate(encode(convert_to('User:' || e.value::text, 'UTF8'), 'base64'),
                                         E'\n', ''))
                 ELSE e.value END
        ),
        '{}'::jsonb
    )
    FROM jsonb_each(stored) AS e
) END
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(
        "ALTER TABLE notifications ADD COLUMN client_payload jsonb "
        "GENERATED ALWAYS AS (notification_client_payload(payload)) STORED"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE notifications DROP COLUMN client_payload")
    op.execute("DROP FUNCTION notification_client_payload(jsonb)")
