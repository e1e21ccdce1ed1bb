"""Interview content fields: question banks and rubrics (managed by staff, read by members), an
interview's question set (its interviewer's) and scoring a completed interview."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.core.enums import QuestionDifficulty
from resolvers.content import bank, question_sets, scoring
from schema.content.types import InterviewResult, Question, Rubric
from schema.context import Info
from schema.ids import encode_cursor, parse_global_id
from schema.interviews.types import Interview
from schema.pagination import after_id, build_connection, page_size
from schema.permissions import MODERATOR_ROLES, authenticated, is_staff, requires_role


@strawberry.input(description="A new question of a specialization's bank.")
class CreateQuestionInput:
    specialization_id: strawberry.ID
    text: str = strawberry.field(description="1-4000 characters.")
    difficulty: QuestionDifficulty
    tags: list[str] = strawberry.field(default_factory=list, description="At most 10, 1-40 characters each.")
    suggested_answer: str | None = strawberry.field(
        default=None, description="At most 8000 characters; shown to interviewers and staff only."
    )


@strawberry.input(description="A criterion of a new rubric.")
class RubricCriterionInput:
    name: str = strawberry.field(description="1-120 characters, distinct within the rubric.")
    weight: int = strawberry.field(default=1, description="1-100.")
    description: str | None = strawberry.field(default=None, description="At most 1000 characters.")


@strawberry.input(description="A new rubric template.")
class CreateRubricInput:
    specialization_id: strawberry.ID
    name: str = strawberry.field(description="1-120 characters.")
    criteria: list[RubricCriterionInput] = strawberry.field(description="1-20 criteria, in order.")


@strawberry.input(description="The score of one criterion.")
class CriterionScoreInput:
    criterion_id: strawberry.ID
    score: int = strawberry.field(description="1-5.")
    comment: str | None = strawberry.field(default=None, description="At most 2000 characters.")


@strawberry.input(description="Scores of every criterion of one rubric of the interview's specialization.")
class ScoreInterviewInput:
    interview_id: strawberry.ID
    scores: list[CriterionScoreInput]
    summary: str | None = strawberry.field(default=None, description="At most 4000 characters.")


@strawberry.type
class ContentQuery:
    @strawberry.field(
        description="A specialization's question bank, oldest first (signed-in members; suggested "
        "answers only for staff).",
        extensions=authenticated(),
    )
    async def questions(
        self,
        info: Info,
        specialization_id: strawberry.ID,
        difficulty: QuestionDifficulty | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Question]:
        size = page_size(first, info.context.settings)
        spec = parse_global_id(specialization_id, "Specialization", field="specializationId")
        rows = await bank.questions(
            info.context.uow,
            specialization_id=spec,
            difficulty=difficulty,
            after_id=after_id(after),
            limit=size + 1,
        )
        staff = is_staff(info.context)
        nodes = [Question.from_row(row, show_answer=staff) for row in rows]
        return build_connection(nodes, size, lambda n: encode_cursor(n.id), has_previous=after is not None)

    @strawberry.field(
        description="Rubric templates of one specialization, or of all, oldest first.",
        extensions=authenticated(),
    )
    async def rubrics(self, info: Info, specialization_id: strawberry.ID | None = None) -> list[Rubric]:
        spec = (
            parse_global_id(specialization_id, "Specialization", field="specializationId")
            if specialization_id is not None
            else None
        )
        return [Rubric.from_row(row) for row in await bank.rubrics(info.context.uow, spec)]


@strawberry.type
class ContentMutation:
    @strawberry.mutation(description="Add a question to a bank.", extensions=requires_role(*MODERATOR_ROLES))
    async def create_question(self, info: Info, input: CreateQuestionInput) -> Question:
        draft = bank.QuestionDraft(
            specialization_id=parse_global_id(
                input.specialization_id, "Specialization", field="specializationId"
            ),
            body=input.text,
            difficulty=input.difficulty,
            tags=input.tags,
            suggested_answer=input.suggested_answer,
        )
        row = await bank.create_question(info.context.uow, info.context.require_viewer(), draft)
        return Question.from_row(row, show_answer=True)

    @strawberry.mutation(description="Add a rubric template.", extensions=requires_role(*MODERATOR_ROLES))
    async def create_rubric(self, info: Info, input: CreateRubricInput) -> Rubric:
        drafts = [
            bank.CriterionDraft(name=c.name, description=c.description, weight=c.weight)
            for c in input.criteria
        ]
        spec = parse_global_id(input.specialization_id, "Specialization", field="specializationId")
        row = await bank.create_rubric(
            info.context.uow, info.context.require_viewer(), spec, input.name, drafts
        )
        return Rubric.from_row(row)

    @strawberry.mutation(
        description="The interviewer sets the interview's questions (in this order; from the bank of "
        "its specialization; an empty list clears them) while it is scheduled or in progress.",
        extensions=authenticated(),
    )
    async def set_interview_questions(
        self, info: Info, interview_id: strawberry.ID, question_ids: list[strawberry.ID]
    ) -> Interview:
        key = parse_global_id(interview_id, "Interview", field="interviewId")
        questions = [parse_global_id(q, "Question", field="questionIds") for q in question_ids]
        row = await question_sets.set_interview_questions(
            info.context.uow, info.context.require_viewer(), key, questions
        )
        return Interview.from_row(row)

    @strawberry.mutation(
        description="The interviewer draws `count` random questions (of one difficulty, if given) from "
        "the bank, preferring ones the candidate was not asked before; replaces the current set.",
        extensions=authenticated(),
    )
    async def draw_interview_questions(
        self,
        info: Info,
        interview_id: strawberry.ID,
        count: int,
        difficulty: QuestionDifficulty | None = None,
    ) -> Interview:
        key = parse_global_id(interview_id, "Interview", field="interviewId")
        row = await question_sets.draw_interview_questions(
            info.context.uow, info.context.require_viewer(), key, difficulty, count
        )
        return Interview.from_row(row)

    @strawberry.mutation(
        description="The interviewer scores a completed interview, once: every criterion of one rubric "
        "of its specialization.",
        extensions=authenticated(),
    )
    async def score_interview(self, info: Info, input: ScoreInterviewInput) -> InterviewResult:
        key = parse_global_id(input.interview_id, "Interview", field="interviewId")
        drafts = [
            scoring.ScoreDraft(
                criterion_id=parse_global_id(s.criterion_id, "RubricCriterion", field="criterionId"),
                score=s.score,
                comment=s.comment,
            )
            for s in input.scores
        ]
        row = await scoring.score_interview(
            info.context.uow, info.context.require_viewer(), key, drafts, input.summary
        )
        return InterviewResult.from_row(row)
