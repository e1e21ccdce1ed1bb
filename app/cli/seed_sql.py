"""The set-based SQL behind `seed-demo`: every table is filled by one INSERT ... SELECT.

Determinism: pseudo-random choices come from `hashint4(row number)`, so the same sizes always give
the same data. Constraints hold by construction:
- each host n (1..H) has at most one slot per two-day window, so a host's slots never overlap;
- candidates are members H+1..N and, within one window, every host maps to a different candidate
  (h -> (h + k*H) mod (N-H) is injective when H <= N-H), so a candidate's active interviews never overlap;
- the ledger starts with a grant plus a top-up covering all of a member's spends, so no running balance
  goes negative, and SPEND/REFUND/REWARD occur at most once per interview.
"""

from __future__ import annotations

DEMO_DOMAIN = "@demo.mockinterview"
LOCK_KEY = 7_304_2024

SPECIALIZATIONS = """
INSERT INTO specializations (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING
"""
DEMO_SPECS = """
CREATE TEMP TABLE demo_specs ON COMMIT DROP AS
SELECT s.ord AS n, sp.id FROM unnest($1::text[]) WITH ORDINALITY AS s(name, ord)
JOIN specializations sp ON lower(sp.name) = lower(s.name)
"""
USERS = """
INSERT INTO users (email, password_hash, display_name, bio, timezone, role, email_verified, created_at)
SELECT
  CASE
    WHEN i = 1 THEN 'admin' WHEN i = 2 THEN 'moderator' WHEN i = 3 THEN 'member' WHEN i = $1 THEN 'candidate'
    ELSE 'member' || lpad(i::text, 5, '0')
  END || '@demo.mockinterview',
  $2,
  CASE
    WHEN i = 1 THEN 'Ada Admin' WHEN i = 2 THEN 'Max Moderator' WHEN i = 3 THEN 'Mia Member'
    WHEN i = $1 THEN 'Cal Candidate'
    ELSE ($3::text[])[1 + i % cardinality($3::text[])] || ' '
         || ($4::text[])[1 + (i / cardinality($3::text[])) % cardinality($4::text[])]
  END,
  ($5::text[])[1 + i % cardinality($5::text[])],
  ($6::text[])[1 + i % cardinality($6::text[])],
  CASE WHEN i = 1 THEN 'ADMIN' WHEN i = 2 OR (i % 200 = 0 AND i <> $1) THEN 'MODERATOR' ELSE 'MEMBER' END,
  true,
  now() - make_interval(days => 60 + (i * 37) % 340)
FROM generate_series(1, $1) AS i
ORDER BY i
"""
DEMO_USERS = """
CREATE TEMP TABLE demo_users ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY id) AS n, id, created_at FROM users WHERE email LIKE '%@demo.mockinterview'
"""
USER_SPECIALIZATIONS = """
INSERT INTO user_specializations (user_id, specialization_id)
SELECT u.id, s.id FROM demo_users u CROSS JOIN generate_series(0, 2) AS k
JOIN demo_specs s ON s.n = 1 + (u.n + k * 3) % (SELECT count(*) FROM demo_specs)
WHERE k = 0 OR (u.n * 13 + k * 7) % 10 < 4
"""
# $1 slots, $2 hosts (H), $3 members (N)
PLAN = """
CREATE TEMP TABLE demo_plan ON COMMIT DROP AS
WITH base AS (SELECT date_trunc('hour', now()) - interval '14 days' AS t0, now() AS now_),
grid AS (
  SELECT j, (j - 1) % $2 + 1 AS h, (j - 1) / $2 AS k, abs(hashint4(j) % 100) AS roll,
         (ARRAY[30, 45, 60, 60, 90])[1 + (j * 7) % 5] AS duration, t0, now_
  FROM generate_series(1, $1) AS j, base
),
timed AS (
  SELECT grid.*,
    CASE WHEN h % 50 = 1 AND k = floor(extract(epoch FROM now_ - t0) / 172800)::int
         THEN date_trunc('minute', now_) - interval '10 minutes'  -- a few sessions running right now
         ELSE t0 + k * interval '2 days' + make_interval(hours => 8 + (h * 7 + k * 5) % 12)
    END AS starts_at
  FROM grid
),
phased AS (
  SELECT timed.*, starts_at + make_interval(mins => duration) AS ends_at,
    CASE WHEN starts_at > now_ THEN 'future'
         WHEN starts_at + make_interval(mins => duration) > now_ THEN 'now' ELSE 'past' END AS phase
  FROM timed
)
SELECT p.*, hu.id AS host_id, cu.id AS candidate_id,
  (SELECT s.id FROM demo_specs s WHERE s.n = 1 + p.h % (SELECT count(*) FROM demo_specs)) AS spec_id,
  CASE
    WHEN phase = 'now' THEN 'IN_PROGRESS'
    WHEN phase = 'future' THEN CASE WHEN roll < 55 THEN NULL WHEN roll < 88 THEN 'SCHEDULED'
                                    WHEN roll < 94 THEN 'CANCELLED' END
    ELSE CASE WHEN roll < 15 THEN NULL WHEN roll < 68 THEN 'COMPLETED' WHEN roll < 83 THEN 'CANCELLED'
              WHEN roll < 95 THEN 'NO_SHOW' END
  END AS iv_status,
  least(p.starts_at - interval '14 days', p.now_ - interval '1 day') AS slot_created
FROM phased p
JOIN demo_users hu ON hu.n = p.h
JOIN demo_users cu ON cu.n = $2 + 1 + (p.h + p.k * $2) % ($3 - $2)
"""
PLAN_STATUSES = """
ALTER TABLE demo_plan
  ADD COLUMN slot_status text, ADD COLUMN booked_at timestamptz, ADD COLUMN slot_id bigint;
UPDATE demo_plan SET
  slot_status = CASE WHEN iv_status IN ('SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'NO_SHOW') THEN 'BOOKED'
                     WHEN iv_status IS NULL AND roll >= 94 THEN 'WITHDRAWN' ELSE 'OPEN' END,
  booked_at = slot_created + (least(now_, starts_at) - slot_created) * ((roll % 10 + 1) / 12.0);
"""
SLOTS = """
INSERT INTO slots (host_id, specialization_id, starts_at, ends_at, duration_minutes, video_link, title,
                   description, status, created_at)
SELECT host_id, spec_id, starts_at, ends_at, duration, 'https://meet.example.com/demo-' || j,
  ($1::text[])[1 + abs(hashint4(j) / 7) % cardinality($1::text[])],
  ($2::text[])[1 + abs(hashint4(j) / 11) % cardinality($2::text[])],
  slot_status, slot_created
FROM demo_plan ORDER BY starts_at, j
"""
PLAN_SLOT_IDS = """
UPDATE demo_plan p SET slot_id = s.id FROM slots s WHERE s.host_id = p.host_id AND s.starts_at = p.starts_at
"""
INTERVIEWS = """
INSERT INTO interviews (slot_id, interviewer_id, candidate_id, specialization_id, status, starts_at, ends_at,
  started_at, completed_at, cancelled_at, cancelled_by_id, cancel_reason, no_show_user_id, reminder_sent_at,
  created_at, updated_at)
SELECT slot_id, host_id, candidate_id, spec_id, iv_status, starts_at, ends_at,
  CASE WHEN iv_status IN ('IN_PROGRESS', 'COMPLETED') THEN starts_at + interval '1 minute' END,
  CASE WHEN iv_status = 'COMPLETED' THEN ends_at END,
  CASE WHEN iv_status = 'CANCELLED' THEN booked_at + (least(now_, starts_at) - booked_at) / 2 END,
  CASE WHEN iv_status = 'CANCELLED' THEN CASE WHEN roll % 2 = 0 THEN candidate_id ELSE host_id END END,
  CASE WHEN iv_status = 'CANCELLED' THEN ($1::text[])[1 + j % cardinality($1::text[])] END,
  CASE WHEN iv_status = 'NO_SHOW' THEN CASE WHEN roll % 4 = 0 THEN host_id ELSE candidate_id END END,
  CASE WHEN iv_status <> 'CANCELLED' AND starts_at - interval '15 minutes' <= now_
       THEN starts_at - interval '15 minutes' END,
  booked_at, now_
FROM demo_plan WHERE iv_status IS NOT NULL ORDER BY booked_at, j
"""
DEMO_INTERVIEWS = """
CREATE TEMP TABLE demo_iv ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY i.id) AS rn, i.*
FROM interviews i JOIN demo_plan p ON p.slot_id = i.slot_id
"""
FEEDBACK = """
INSERT INTO feedback (interview_id, author_id, subject_id, subject_was_interviewer, rating, comment,
                      created_at)
SELECT id, author, subject, to_interviewer, 2 + abs(hashint8(id * 2 + side) % 4),
  ($1::text[])[1 + abs(hashint8(id + side)) % cardinality($1::text[])],
  least(now(), ends_at + interval '1 hour')
FROM (
  SELECT id, ends_at, candidate_id AS author, interviewer_id AS subject, true AS to_interviewer, 0 AS side
  FROM demo_iv WHERE status = 'COMPLETED' AND abs(hashint8(id) % 10) < 9
  UNION ALL
  SELECT id, ends_at, interviewer_id, candidate_id, false, 1
  FROM demo_iv WHERE status = 'COMPLETED' AND abs(hashint8(id + 1) % 10) < 8
) f ORDER BY id, side
"""
NO_SHOW_REPORTS = """
INSERT INTO no_show_reports (interview_id, reporter_id, accused_id, reason, status, resolver_id, note,
                             resolved_at, created_at)
SELECT id, CASE WHEN no_show_user_id = candidate_id THEN interviewer_id ELSE candidate_id END,
  no_show_user_id, 'Did not join the call and did not answer messages.',
  CASE WHEN abs(hashint8(id) % 3) = 0 THEN 'OPEN' ELSE 'UPHELD' END,
  CASE WHEN abs(hashint8(id) % 3) = 0 THEN NULL ELSE $1::bigint END,
  CASE WHEN abs(hashint8(id) % 3) = 0 THEN NULL ELSE 'Confirmed from the chat history.' END,
  CASE WHEN abs(hashint8(id) % 3) = 0 THEN NULL ELSE least(now(), ends_at + interval '1 day') END,
  least(now(), ends_at + interval '20 minutes')
FROM demo_iv WHERE status = 'NO_SHOW' ORDER BY id
"""
STRIKES = """
UPDATE users u SET strikes = r.upheld
FROM (SELECT accused_id, count(*) AS upheld FROM no_show_reports r JOIN demo_iv i ON i.id = r.interview_id
      WHERE r.status = 'UPHELD' GROUP BY accused_id) r
WHERE u.id = r.accused_id
"""
# $1 signup grant, $2 booking cost, $3 reward
LEDGER_EVENTS = """
CREATE TEMP TABLE demo_ledger ON COMMIT DROP AS
WITH spends AS (
  SELECT candidate_id AS user_id, -$2::int AS amount, 'SPEND' AS kind, 'Booking' AS reason,
         id AS interview_id, created_at, 3 AS ord FROM demo_iv WHERE $2::int > 0
),
refunds AS (
  SELECT candidate_id, $2::int, 'REFUND',
         CASE WHEN status = 'CANCELLED' THEN 'Interview cancelled' ELSE 'Interviewer did not show up' END,
         id, coalesce(cancelled_at, least(now(), ends_at + interval '30 minutes')), 4
  FROM demo_iv
  WHERE $2::int > 0
    AND (status = 'CANCELLED' OR (status = 'NO_SHOW' AND no_show_user_id = interviewer_id))
),
rewards AS (
  SELECT interviewer_id, $3::int, 'REWARD', 'Interview completed', id, completed_at, 5
  FROM demo_iv WHERE $3::int > 0 AND status = 'COMPLETED'
),
grants AS (
  SELECT id AS user_id, $1::int AS amount, 'GRANT' AS kind, 'Signup grant' AS reason,
         NULL::bigint AS interview_id, created_at, 1 AS ord
  FROM demo_users WHERE $1::int > 0
),
topups AS (
  SELECT user_id, -sum(amount)::int, 'ADJUSTMENT', 'Demo data: starting balance', NULL::bigint,
         (SELECT created_at FROM demo_users u WHERE u.id = s.user_id) + interval '1 minute', 2
  FROM spends s GROUP BY user_id
)
SELECT * FROM grants UNION ALL SELECT * FROM topups UNION ALL SELECT * FROM spends
UNION ALL SELECT * FROM refunds UNION ALL SELECT * FROM rewards
"""
LEDGER = """
INSERT INTO points_ledger (user_id, amount, kind, reason, interview_id, balance_after, created_at)
SELECT user_id, amount, kind, reason, interview_id,
  sum(amount) OVER (PARTITION BY user_id ORDER BY created_at, ord, interview_id ROWS UNBOUNDED PRECEDING),
  created_at
FROM demo_ledger ORDER BY created_at, ord, interview_id, user_id
"""
BALANCES = """
UPDATE users u SET points_balance = t.total
FROM (SELECT user_id, sum(amount) AS total FROM demo_ledger GROUP BY user_id) t WHERE u.id = t.user_id
"""
# $1 messages, $2 chat lines
MESSAGES = """
INSERT INTO messages (interview_id, author_id, body, created_at)
SELECT iv.id, CASE WHEN m.seq % 2 = 0 THEN iv.candidate_id ELSE iv.interviewer_id END,
  ($2::text[])[1 + (m.seq + iv.rn) % cardinality($2::text[])],
  least(now(), iv.created_at + m.seq * interval '7 minutes')
FROM (SELECT (g - 1) % c.total + 1 AS rn, (g - 1) / c.total AS seq
      FROM generate_series(1, $1) AS g, (SELECT count(*) AS total FROM demo_iv) c WHERE c.total > 0) m
JOIN demo_iv iv ON iv.rn = m.rn
ORDER BY 4, iv.id
"""
NOTIFICATIONS = """
INSERT INTO notifications (user_id, kind, payload, read_at, created_at)
SELECT n.user_id, n.kind,
  jsonb_build_object(
    'interview_id', n.interview_id,
    'starts_at', to_jsonb(i.starts_at)
  ),
  CASE WHEN n.at < now() - interval '2 days' THEN n.at + interval '1 hour' END, n.at
FROM (
  SELECT interviewer_id AS user_id, 'BOOKED' AS kind, id AS interview_id, created_at AS at FROM demo_iv
  UNION ALL
  SELECT CASE WHEN cancelled_by_id = candidate_id THEN interviewer_id ELSE candidate_id END,
         'CANCELLED', id, cancelled_at FROM demo_iv WHERE status = 'CANCELLED'
  UNION ALL
  SELECT unnest(ARRAY[interviewer_id, candidate_id]), 'REMINDER', id, reminder_sent_at
  FROM demo_iv WHERE reminder_sent_at IS NOT NULL
  UNION ALL
  SELECT f.subject_id, 'FEEDBACK_RECEIVED', f.interview_id, f.created_at
  FROM feedback f JOIN demo_iv i ON i.id = f.interview_id
  UNION ALL
  SELECT unnest(ARRAY[r.reporter_id, r.accused_id]), 'NO_SHOW_RESOLVED', r.interview_id, r.resolved_at
  FROM no_show_reports r JOIN demo_iv i ON i.id = r.interview_id WHERE r.resolved_at IS NOT NULL
) n JOIN demo_iv i ON i.id = n.interview_id
ORDER BY n.at, n.user_id
"""
