"""Demo interview content for `seed-demo`: a question bank and a rubric per demo specialization,
question sets for booked interviews, scored results for most completed ones (so progress pages have
points over time), and one lifted block in a member's history. Runs after the interviews exist."""

from __future__ import annotations

import asyncpg

QUESTION_TEMPLATES = (
    ("Walk me through a {topic} project you are proud of. What would you change now?", "EASY"),
    ("Which {topic} concepts do beginners most often misunderstand, and why?", "EASY"),
    ("How do you test {topic} work, and what do you leave untested?", "EASY"),
    ("How do you debug a problem in {topic} that you cannot reproduce locally?", "MEDIUM"),
    ("Describe a trade-off you made in {topic} between speed of delivery and quality.", "MEDIUM"),
    ("How would you review a colleague's {topic} change that works but is hard to read?", "MEDIUM"),
    ("What does performance mean in {topic}, and how do you measure it?", "MEDIUM"),
    ("Design a {topic} solution for ten times today's load. Where does it break first?", "HARD"),
    ("Explain a {topic} failure you caused in production and what you changed afterwards.", "HARD"),
    ("How would you introduce {topic} best practices in a team that resists them?", "HARD"),
)
ANSWER = (
    "Look for a concrete example, the reasoning behind each decision, the alternatives considered "
    "and what the candidate learned; {topic} vocabulary matters less than clear thinking."
)
CRITERIA = (
    ("Problem solving", "Breaks the problem down and reaches a working approach.", 3),
    ("Technical depth", "Knows the tools and explains why, not only how.", 3),
    ("Communication", "Thinks aloud, asks clarifying questions, listens.", 2),
    ("Code quality", "Readable, tested, handles edge cases.", 2),
)
SUMMARIES = (
    "Solid fundamentals; practise explaining trade-offs out loud.",
    "Clear communication. Go deeper on testing strategy next time.",
    "Strong problem solving under time pressure; tidy up naming and structure.",
    "Good start. Review the basics of the topic and try another mock soon.",
)
SCORE_COMMENTS = (
    "Well done here.",
    "Room to improve; see the summary.",
    "Consistent throughout.",
    "Needed a few hints.",
)

QUESTIONS = """
INSERT INTO questions (specialization_id, author_id, body, difficulty, tags, suggested_answer, created_at)
SELECT s.id, $4::bigint, replace(t.body, '{topic}', sp.name), t.difficulty,
  ARRAY[left(lower(regexp_replace(sp.name, '[^A-Za-z0-9]+', '-', 'g')), 40), lower(t.difficulty)],
  replace($3::text, '{topic}', sp.name), now() - interval '60 days'
FROM demo_specs s JOIN specializations sp ON sp.id = s.id
CROSS JOIN unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(body, difficulty, ord)
ORDER BY s.n, t.ord
"""
RUBRICS = """
INSERT INTO rubrics (specialization_id, author_id, name, created_at)
SELECT id, $1::bigint, 'Standard interview rubric', now() - interval '60 days' FROM demo_specs ORDER BY n
"""
CRITERIA_SQL = """
INSERT INTO rubric_criteria (rubric_id, position, name, description, weight)
SELECT r.id, c.ord - 1, c.name, c.description, c.weight
FROM rubrics r JOIN demo_specs s ON s.id = r.specialization_id
CROSS JOIN unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS c(name, description, weight, ord)
WHERE r.author_id = $4::bigint
ORDER BY r.id, c.ord
"""
INTERVIEW_QUESTIONS = """
INSERT INTO interview_questions (interview_id, question_id, position)
SELECT iv.id, q.id, q.pos - 1
FROM demo_iv iv
CROSS JOIN LATERAL (
  SELECT id, row_number() OVER (ORDER BY hashint8(id + iv.id)) AS pos
  FROM questions WHERE specialization_id = iv.specialization_id AND author_id = $1::bigint
) q
WHERE iv.status IN ('SCHEDULED', 'IN_PROGRESS', 'COMPLETED') AND q.pos <= 3
"""
RESULTS = """
INSERT INTO interview_results (interview_id, rubric_id, interviewer_id, candidate_id, specialization_id,
                               summary, overall_score, created_at)
SELECT iv.id, r.id, iv.interviewer_id, iv.candidate_id, iv.specialization_id,
  ($1::text[])[1 + abs(hashint8(iv.id)) % cardinality($1::text[])], 3,
  least(now(), iv.ends_at + interval '2 hours')
FROM demo_iv iv JOIN rubrics r ON r.specialization_id = iv.specialization_id AND r.author_id = $2::bigint
WHERE iv.status = 'COMPLETED' AND abs(hashint8(iv.id + 7) % 10) < 8
ORDER BY iv.ends_at, iv.id
"""
SCORES = """
INSERT INTO criterion_scores (result_id, criterion_id, score, comment)
SELECT res.id, c.id, 1 + abs(hashint8(res.id * 8 + c.position)) % 5,
  ($1::text[])[1 + abs(hashint8(res.id + c.position)) % cardinality($1::text[])]
FROM interview_results res
JOIN demo_iv iv ON iv.id = res.interview_id
JOIN rubric_criteria c ON c.rubric_id = res.rubric_id
"""
OVERALL = """
UPDATE interview_results r SET overall_score = s.score
FROM (SELECT cs.result_id, sum(cs.score * c.weight)::float8 / sum(c.weight) AS score
      FROM criterion_scores cs JOIN rubric_criteria c ON c.id = cs.criterion_id GROUP BY cs.result_id) s
WHERE s.result_id = r.id
"""
LIFTED_BLOCK = """
INSERT INTO blocks (user_id, blocked_by_id, reason, until, unblocked_at, unblocked_by_id, created_at)
SELECT u.id, $1::bigint, 'Repeated late cancellations; lifted after a warning.', NULL,
  now() - interval '20 days', $1::bigint, now() - interval '30 days'
FROM demo_users u WHERE u.n = (SELECT max(n) FROM demo_users)
"""


async def load_content(connection: asyncpg.Connection, admin_id: int, moderator_id: int) -> None:
    """Insert the demo content (inside the caller's transaction, after interviews and `demo_iv`)."""
    run = connection.execute
    bodies = [body for body, _ in QUESTION_TEMPLATES]
    difficulties = [difficulty for _, difficulty in QUESTION_TEMPLATES]
    await run(QUESTIONS, bodies, difficulties, ANSWER, moderator_id)
    await run(RUBRICS, admin_id)
    await run(
        CRITERIA_SQL, [c[0] for c in CRITERIA], [c[1] for c in CRITERIA], [c[2] for c in CRITERIA], admin_id
    )
    await run(INTERVIEW_QUESTIONS, moderator_id)
    await run(RESULTS, list(SUMMARIES), admin_id)
    await run(SCORES, list(SCORE_COMMENTS))
    await run(OVERALL)
    await run(LIFTED_BLOCK, moderator_id)
