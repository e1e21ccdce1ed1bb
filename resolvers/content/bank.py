"""Question banks and rubric templates: moderators and admins add to them, members read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import STAFF_ROLES, QuestionDifficulty
from app.core.errors import BadUserInput, Forbidden
from db.models import Question, Rubric, RubricCriterion, Specialization, User
from resolvers import audit, validation
from resolvers.unit_of_work import UnitOfWork

MAX_TAGS = 10
MAX_CRITERIA = 20


@dataclass(frozen=True)
class QuestionDraft:
    specialization_id: int
    body: str
    difficulty: QuestionDifficulty
    tags: Sequence[str]
    suggested_answer: str | None


@dataclass(frozen=True)
class CriterionDraft:
    name: str
    description: str | None
    weight: int


def require_staff(actor: User) -> None:
    """Banks and rubrics are managed by moderators and admins (docs/product.md, rule 25)."""
    if actor.role not in STAFF_ROLES:
        raise Forbidden("Your role does not allow this.")


async def _existing_specialization(session: AsyncSession, specialization_id: int) -> Specialization:
    specialization = await session.get(Specialization, specialization_id)
    if specialization is None:
        raise BadUserInput("Unknown specialization.", field="specializationId")
    return specialization


def _tags(values: Sequence[str]) -> list[str]:
    """Up to 10 distinct tags of 1-40 characters, lower case, in the order given."""
    if len(values) > MAX_TAGS:
        raise BadUserInput(f"At most {MAX_TAGS} tags.", field="tags")
    tags: list[str] = []
    for value in values:
        tag = validation.text(value, "tags", min_length=1, max_length=40).lower()
        if tag not in tags:
            tags.append(tag)
    return tags


async def create_question(uow: UnitOfWork, actor: User, draft: QuestionDraft) -> Question:
    require_staff(actor)
    body = validation.text(draft.body, "body", min_length=1, max_length=4000)
    answer = None
    if draft.suggested_answer is not None:
        answer = validation.text(draft.suggested_answer, "suggestedAnswer", min_length=0, max_length=8000)
    tags = _tags(draft.tags)
    async with uow.db.transaction() as session:
        await _existing_specialization(session, draft.specialization_id)
        question = Question(
            specialization_id=draft.specialization_id,
            author_id=actor.id,
            body=body,
            difficulty=QuestionDifficulty(draft.difficulty),
            tags=tags,
            suggested_answer=answer or None,
        )
        session.add(question)
        await session.flush()
        await audit.record(
            session,
            "question.created",
            actor_id=actor.id,
            target_type="Question",
            target_id=question.id,
            ip=uow.client_ip,
        )
        await session.refresh(question)
    return question


def _criteria(drafts: Sequence[CriterionDraft]) -> list[RubricCriterion]:
    """1-20 criteria with distinct names (case-insensitive) and weights of 1-100."""
    if not 1 <= len(drafts) <= MAX_CRITERIA:
        raise BadUserInput(f"A rubric has 1-{MAX_CRITERIA} criteria.", field="criteria")
    criteria: list[RubricCriterion] = []
    seen: set[str] = set()
    for position, draft in enumerate(drafts):
        name = validation.text(draft.name, "criteria.name", min_length=1, max_length=120)
        if name.lower() in seen:
            raise BadUserInput("Criterion names must differ.", field="criteria.name")
        seen.add(name.lower())
        if not 1 <= draft.weight <= 100:
            raise BadUserInput("`weight` must be 1-100.", field="criteria.weight")
        description = validation.text(
            draft.description or "", "criteria.description", min_length=0, max_length=1000
        )
        criteria.append(
            RubricCriterion(position=position, name=name, description=description, weight=draft.weight)
        )
    return criteria


async def create_rubric(
    uow: UnitOfWork, actor: User, specialization_id: int, name: str, drafts: Sequence[CriterionDraft]
) -> Rubric:
    """A rubric template of weighted criteria, each scored 1-5."""
    require_staff(actor)
    clean_name = validation.text(name, "name", min_length=1, max_length=120)
    criteria = _criteria(drafts)
    async with uow.db.transaction() as session:
        await _existing_specialization(session, specialization_id)
        rubric = Rubric(specialization_id=specialization_id, author_id=actor.id, name=clean_name)
        session.add(rubric)
        await session.flush()
        for criterion in criteria:
            criterion.rubric_id = rubric.id
        session.add_all(criteria)
        await audit.record(
            session,
            "rubric.created",
            actor_id=actor.id,
            target_type="Rubric",
            target_id=rubric.id,
            ip=uow.client_ip,
        )
        await session.flush()
        await session.refresh(rubric)
    uow.loaders.rubric_criteria.prime(rubric.id, criteria)
    return rubric


async def questions(
    uow: UnitOfWork,
    *,
    specialization_id: int,
    difficulty: QuestionDifficulty | None,
    after_id: int | None,
    limit: int,
) -> Sequence[Question]:
    """A specialization's bank, oldest first (keyset on id)."""
    statement = (
        select(Question)
        .where(Question.specialization_id == specialization_id)
        .order_by(Question.id)
        .limit(limit)
    )
    if difficulty is not None:
        statement = statement.where(Question.difficulty == difficulty)
    if after_id is not None:
        statement = statement.where(Question.id > after_id)
    return (await uow.db.execute(statement)).scalars().all()


async def rubrics(uow: UnitOfWork, specialization_id: int | None) -> Sequence[Rubric]:
    """Rubric templates of one specialization, or of all, oldest first."""
    statement = select(Rubric).order_by(Rubric.id)
    if specialization_id is not None:
        statement = statement.where(Rubric.specialization_id == specialization_id)
    rows = (await uow.db.execute(statement)).scalars().all()
    for row in rows:
        uow.loaders.rubric.prime(row.id, row)
    return rows
