"""Demo match history for `seed-demo`: some completed demo interviews came from the matching queue
(docs/product.md, rule 24), each with its match and the two MATCHED tickets that made it. Past
matches only: a waiting ticket would expire minutes after seeding. Runs after the interviews exist."""

from __future__ import annotations

import asyncpg

MATCH_LIMIT = 20

MATCHES = """
WITH picked AS (
  SELECT i.id, i.specialization_id, i.interviewer_id, i.candidate_id, i.starts_at,
         (extract(epoch FROM (i.ends_at - i.starts_at)) / 60)::int AS minutes
  FROM interviews i
  WHERE i.status = 'COMPLETED'
    AND i.ends_at - i.starts_at BETWEEN interval '15 minutes' AND interval '180 minutes'
  ORDER BY i.id
  LIMIT $1
), made AS (
  INSERT INTO matches (specialization_id, first_interview_id, created_at)
  SELECT specialization_id, id, starts_at FROM picked
  RETURNING id, first_interview_id
)
INSERT INTO match_tickets
  (user_id, specialization_id, role, duration_minutes, status, expires_at, matched_at, match_id, created_at)
SELECT side.user_id, p.specialization_id, side.role, p.minutes, 'MATCHED',
       p.starts_at + interval '10 minutes', p.starts_at, made.id, p.starts_at - side.waited
FROM picked p
JOIN made ON made.first_interview_id = p.id
CROSS JOIN LATERAL (VALUES
  (p.interviewer_id, 'INTERVIEWER', interval '3 minutes'),
  (p.candidate_id, 'CANDIDATE', interval '40 seconds')
) AS side(user_id, role, waited)
"""


async def load_matches(connection: asyncpg.Connection) -> None:
    await connection.execute(MATCHES, MATCH_LIMIT)
