"""Notification payloads hold database ids under snake_case keys; the schema makes the global IDs

Before: `{"interviewId": "SW50ZXJ2aWV3OjU=", "startsAt": "...", "accusedId": "VXNlcjo3"}` (what clients
see). After: `{"interview_id": 5, "starts_at": "...", "accused_id": 7}`; GraphQL's `Notification.payload`
presents it as before. Keys without a capital (`reason`, `rating`, `upheld`, `amount`) are unchanged.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Every camelCase key the app ever stored: (old key, new key, type of the global ID it held or NULL).
# A global ID is decoded only when it is padded base64 (what strawberry's GlobalID makes; decoding
# anything else would fail) of "<type>:<digits>"; any other value is kept as it is.
UPGRADE = """
WITH k(old_key, new_key, type_name) AS (
    VALUES ('interviewId', 'interview_id', 'Interview'),
           ('accusedId', 'accused_id', 'User'),
           ('startsAt', 'starts_at', NULL),
           ('minutesBefore', 'minutes_before', NULL),
           ('balanceAfter', 'balance_after', NULL)
)
UPDATE notifications AS n
SET payload = (
    SELECT jsonb_object_agg(
        coalesce(k.new_key, e.key),
        CASE WHEN k.type_name IS NOT NULL
                  AND jsonb_typeof(e.value) = 'string'
                  AND e.value #>> '{}' ~ '^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$'
             THEN CASE WHEN encode(decode(e.value #>> '{}', 'base64'), 'escape')
                            ~ ('^' || k.type_name || ':[0-9]{1,18}$')
                       THEN to_jsonb(
                           split_part(encode(decode(e.value #>> '{}', 'base64'), 'escape'), ':', 2)::bigint
                       )
                       ELSE e.value END
             ELSE e.value END
    )
    FROM jsonb_each(n.payload) AS e
    LEFT JOIN k ON k.old_key = e.key
)
WHERE jsonb_typeof(n.payload) = 'object' AND n.payload ?| ARRAY(SELECT old_key FROM k)
"""

DOWNGRADE = """
WITH k(old_key, new_key, type_name) AS (
    VALUES ('interviewId', 'interview_id', 'Interview'),
           ('accusedId', 'accused_id', 'User'),
           ('startsAt', 'starts_at', NULL),
           ('minutesBefore', 'minutes_before', NULL),
           ('balanceAfter', 'balance_after', NULL)
)
UPDATE notifications AS n
SET payload = (
    SELECT jsonb_object_agg(
        coalesce(k.old_key, e.key),
        CASE WHEN k.type_name IS NOT NULL AND jsonb_typeof(e.value) = 'number'
             THEN to_jsonb(encode(convert_to(k.type_name || ':' || (e.value #>> '{}'), 'UTF8'), 'base64'))
             ELSE e.value END
    )
    FROM jsonb_each(n.payload) AS e
    LEFT JOIN k ON k.new_key = e.key
)
WHERE jsonb_typeof(n.payload) = 'object' AND n.payload ?| ARRAY(SELECT new_key FROM k)
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
