"""GraphQL types of interview content: questions, rubrics and their criteria, scored results, and a
member's progress. Types are built from rows; who may see what is decided in resolvers/content."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types.lazy_type import LazyType

from app.core.enums import QuestionDifficulty
from db import models
from db.models.content import MAX_SCORE, MIN_SCORE
from resolvers.content import scoring
from resolvers.interviews.access import can_view_interview
from schema.accounts.types import User, load_user_node
from schema.context import Info
from schema.ids import node_keys
from schema.permissions import is_staff
from schema.specializations.types import Specialization, load_specialization_node

if TYPE_CHECKING:
    from schema.interviews.types import Interview

strawberry.enum(QuestionDifficulty, name="QuestionDifficulty", description="How hard a question is.")

# Interview refers to these types, so they refer back to it by name (resolved when first used).
InterviewRef = Annotated["Interview", strawberry.lazy("schema.interviews.types")]


async def _visible_interview(info: Info, interview_id: int) -> Interview | None:
    row = await info.context.loaders.interview.load(interview_id)
    if row is None or not can_view_interview(info.context.viewer, row):
        return None
    interview_type = LazyType("Interview", "schema.interviews.types").resolve_type()
    built: Interview = interview_type.from_row(row)
    return built


@strawberry.type(name="Question", description="A question of a specialization's question bank.")
class Question(relay.Node):
    id: relay.NodeID[int]
    text: str
    difficulty: QuestionDifficulty
    tags: list[str]
    created_at: datetime
    specialization_id: strawberry.Private[int]
    answer: strawberry.Private[str | None]
    show_answer: strawberry.Private[bool]

    @classmethod
    def from_row(cls, row: models.Question, *, show_answer: bool) -> Question:
        return cls(
            id=row.id,
            text=row.body,
            difficulty=QuestionDifficulty(row.difficulty),
            tags=list(row.tags),
            created_at=row.created_at,
            specialization_id=row.specialization_id,
            answer=row.suggested_answer,
            show_answer=show_answer,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Question | None]:
        if info.context.viewer is None:
            return [None for _ in node_ids]
        rows = await info.context.loaders.question.load_many(node_keys(node_ids))
        staff = is_staff(info.context)
        return [cls.from_row(row, show_answer=staff) if row else None for row in rows]

    @strawberry.field(
        description="What a good answer covers: for the interviewer of an interview the question is "
        "part of, moderators and admins; null for everyone else."
    )
    def suggested_answer(self) -> str | None:
        return self.answer if self.show_answer else None

    @strawberry.field
    async def specialization(self, info: Info) -> Specialization | None:
        return await load_specialization_node(info, self.specialization_id)


@strawberry.type(name="RubricCriterion", description="One criterion of a rubric, scored 1-5.")
class RubricCriterion(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    weight: int = strawberry.field(description="Its weight in the overall score (1-100).")
    scale_min: int = strawberry.field(default=MIN_SCORE, description="The lowest score (1).")
    scale_max: int = strawberry.field(default=MAX_SCORE, description="The highest score (5).")

    @classmethod
    def from_row(cls, row: models.RubricCriterion) -> RubricCriterion:
        return cls(id=row.id, name=row.name, description=row.description, weight=row.weight)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[RubricCriterion | None]:
        if info.context.viewer is None:
            return [None for _ in node_ids]
        rows = await info.context.loaders.criterion.load_many(node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(name="Rubric", description="A scoring template of weighted criteria for a specialization.")
class Rubric(relay.Node):
    id: relay.NodeID[int]
    name: str
    created_at: datetime
    specialization_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.Rubric) -> Rubric:
        return cls(
            id=row.id, name=row.name, created_at=row.created_at, specialization_id=row.specialization_id
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Rubric | None]:
        if info.context.viewer is None:
            return [None for _ in node_ids]
        rows = await info.context.loaders.rubric.load_many(node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="Its criteria, in order.")
    async def criteria(self, info: Info) -> list[RubricCriterion]:
        rows = await info.context.loaders.rubric_criteria.load(self.id)
        return [RubricCriterion.from_row(row) for row in rows]

    @strawberry.field
    async def specialization(self, info: Info) -> Specialization | None:
        return await load_specialization_node(info, self.specialization_id)


@strawberry.type(description="The score of one criterion.")
class CriterionScore:
    score: int = strawberry.field(description="1-5.")
    comment: str
    criterion_id: strawberry.Private[int]

    @strawberry.field
    async def criterion(self, info: Info) -> RubricCriterion | None:
        row = await info.context.loaders.criterion.load(self.criterion_id)
        return RubricCriterion.from_row(row) if row else None


@strawberry.type(
    name="InterviewResult",
    description="The interviewer's scores of a completed interview. For its participants and staff.",
)
class InterviewResult(relay.Node):
    id: relay.NodeID[int]
    summary: str
    overall_score: float = strawberry.field(description="The weighted mean of the scores (1-5).")
    created_at: datetime = strawberry.field(description="When it was scored.")
    interview_id: strawberry.Private[int]
    rubric_id: strawberry.Private[int]
    interviewer_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.InterviewResult) -> InterviewResult:
        return cls(
            id=row.id,
            summary=row.summary,
            overall_score=row.overall_score,
            created_at=row.created_at,
            interview_id=row.interview_id,
            rubric_id=row.rubric_id,
            interviewer_id=row.interviewer_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[InterviewResult | None]:
        rows = await scoring.visible_results(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="One score per criterion of the rubric, in the rubric's order.")
    async def scores(self, info: Info) -> list[CriterionScore]:
        rows = await info.context.loaders.result_scores.load(self.id)
        return [CriterionScore(score=r.score, comment=r.comment, criterion_id=r.criterion_id) for r in rows]

    @strawberry.field
    async def rubric(self, info: Info) -> Rubric | None:
        row = await info.context.loaders.rubric.load(self.rubric_id)
        return Rubric.from_row(row) if row else None

    @strawberry.field(description="Who scored it.")
    async def interviewer(self, info: Info) -> User | None:
        return await load_user_node(info, self.interviewer_id)

    @strawberry.field
    async def interview(self, info: Info) -> InterviewRef | None:
        return await _visible_interview(info, self.interview_id)


@strawberry.type(description="One scored interview on a member's progress over time.")
class ProgressPoint:
    result: InterviewResult
    specialization_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.InterviewResult) -> ProgressPoint:
        return cls(result=InterviewResult.from_row(row), specialization_id=row.specialization_id)

    @strawberry.field(description="When the interview was scored.")
    def scored_at(self) -> datetime:
        return self.result.created_at

    @strawberry.field(description="The interview's overall score (1-5).")
    def overall_score(self) -> float:
        return self.result.overall_score

    @strawberry.field
    async def specialization(self, info: Info) -> Specialization | None:
        return await load_specialization_node(info, self.specialization_id)

    @strawberry.field
    async def interview(self, info: Info) -> InterviewRef | None:
        return await _visible_interview(info, self.result.interview_id)
