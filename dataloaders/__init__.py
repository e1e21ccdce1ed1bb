"""Per-request batched loaders. Build a fresh `Loaders` per HTTP request and per subscription event.

Each entity has one cache per request. Objects built from its rows (e.g. GraphQL nodes) are kept in
views of that cache (`RowLoader.view`), which `forget` clears together with the rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from strawberry.dataloader import DataLoader

from dataloaders.accounts import UserRow, load_user_rows, load_user_specialization_ids
from dataloaders.audit import load_audit_entries
from dataloaders.chat import MessagePageKey, load_message_pages
from dataloaders.content import (
    ProgressKey,
    load_criteria,
    load_interview_question_ids,
    load_progress,
    load_questions,
    load_result_by_interview,
    load_results,
    load_rubric_criteria,
    load_rubrics,
    load_scores,
)
from dataloaders.interviews import (
    UserStatsRow,
    load_active_interview_by_slot,
    load_feedback,
    load_feedback_by_interview,
    load_interviews,
    load_user_stats,
)
from dataloaders.matching import load_match_tickets, load_matches, load_tickets_of_matches
from dataloaders.moderation import load_blocks, load_no_show_reports
from dataloaders.points import load_points_entries
from dataloaders.slots import load_slots
from dataloaders.specializations import load_specializations
from dataloaders.uploads import load_uploads
from db.models import (
    AuditEntry,
    Block,
    CriterionScore,
    Feedback,
    Interview,
    InterviewResult,
    Match,
    MatchTicket,
    NoShowReport,
    PointsEntry,
    Question,
    Rubric,
    RubricCriterion,
    Slot,
    Specialization,
    Upload,
)

if TYPE_CHECKING:
    from db.session import Db

K = TypeVar("K")
R = TypeVar("R")
T = TypeVar("T")


class RowLoader(DataLoader[K, R | None]):
    """An entity's rows by key, and views of them: loaders of objects built from those rows (e.g. the
    GraphQL type of the entity), created on first use and kept for the request, so that each object is
    built once. Views read through this loader; clearing a key here (`forget`) clears it from every
    view too, so no view outlives the row it was built from."""

    def __init__(self, load_fn: Callable[[list[K]], Awaitable[Sequence[R | None]]]) -> None:
        super().__init__(load_fn)
        self._views: dict[str, DataLoader[K, Any]] = {}

    def view(self, name: str, build: Callable[[R], T]) -> DataLoader[K, T | None]:
        """The view `name`: `build(row)` for each key's row (None where there is none). One `build`
        per name, e.g. the GraphQL type's name and its `from_row`."""
        view = self._views.get(name)
        if view is None:

            async def load(keys: list[K]) -> list[T | None]:
                rows = await self.load_many(keys)
                return [None if row is None else build(row) for row in rows]

            view = self._views[name] = DataLoader(load)
        return cast(DataLoader[K, T | None], view)

    def clear(self, key: K) -> None:
        for view in self._views.values():
            with suppress(KeyError):
                view.clear(key)
        super().clear(key)

    def clear_many(self, keys: Iterable[K]) -> None:
        for key in keys:
            with suppress(KeyError):
                self.clear(key)

    def clear_all(self) -> None:
        for view in self._views.values():
            view.clear_all()
        super().clear_all()


@dataclass
class Loaders:
    db: Db
    # Core rows, not ORM instances: hot on every page that shows members (see `USER_ROW_COLUMNS`).
    user: RowLoader[int, UserRow] = field(init=False)
    specialization: RowLoader[int, Specialization] = field(init=False)
    user_specialization_ids: DataLoader[int, list[int]] = field(init=False)
    slot: RowLoader[int, Slot] = field(init=False)
    interview: RowLoader[int, Interview] = field(init=False)
    slot_active_interview: DataLoader[int, Interview | None] = field(init=False)
    feedback: RowLoader[int, Feedback] = field(init=False)
    interview_feedback: DataLoader[int, list[Feedback]] = field(init=False)
    user_stats: DataLoader[int, UserStatsRow] = field(init=False)
    message_page: DataLoader[MessagePageKey, list[Any]] = field(init=False)
    points_entry: RowLoader[int, PointsEntry] = field(init=False)
    no_show_report: RowLoader[int, NoShowReport] = field(init=False)
    upload: RowLoader[int, Upload] = field(init=False)
    audit_entry: RowLoader[int, AuditEntry] = field(init=False)
    block: DataLoader[int, Block | None] = field(init=False)
    question: DataLoader[int, Question | None] = field(init=False)
    rubric: DataLoader[int, Rubric | None] = field(init=False)
    rubric_criteria: DataLoader[int, list[RubricCriterion]] = field(init=False)
    criterion: DataLoader[int, RubricCriterion | None] = field(init=False)
    interview_question_ids: DataLoader[int, list[int]] = field(init=False)
    interview_result: DataLoader[int, InterviewResult | None] = field(init=False)
    result: DataLoader[int, InterviewResult | None] = field(init=False)
    result_scores: DataLoader[int, list[CriterionScore]] = field(init=False)
    progress: DataLoader[ProgressKey, list[InterviewResult]] = field(init=False)
    match_ticket: DataLoader[int, MatchTicket | None] = field(init=False)
    match: DataLoader[int, Match | None] = field(init=False)
    match_tickets: DataLoader[int, list[MatchTicket]] = field(init=False)

    def __getattr__(self, name: str) -> Any:
        """A loader is made on first use: most requests need one or two of them."""
        factory = _FACTORIES.get(name)
        if factory is None:
            raise AttributeError(name)
        loader = factory(self.db)
        setattr(self, name, loader)
        return loader


_FACTORIES: dict[str, Callable[[Db], DataLoader[Any, Any]]] = {
    "user": lambda db: RowLoader(lambda ids: load_user_rows(db, ids)),
    "specialization": lambda db: RowLoader(lambda ids: load_specializations(db, ids)),
    "user_specialization_ids": lambda db: DataLoader(lambda ids: load_user_specialization_ids(db, ids)),
    "slot": lambda db: RowLoader(lambda ids: load_slots(db, ids)),
    "interview": lambda db: RowLoader(lambda ids: load_interviews(db, ids)),
    "slot_active_interview": lambda db: DataLoader(lambda ids: load_active_interview_by_slot(db, ids)),
    "feedback": lambda db: RowLoader(lambda ids: load_feedback(db, ids)),
    "interview_feedback": lambda db: DataLoader(lambda ids: load_feedback_by_interview(db, ids)),
    "user_stats": lambda db: DataLoader(lambda ids: load_user_stats(db, ids)),
    "message_page": lambda db: DataLoader(lambda keys: load_message_pages(db, keys)),
    "points_entry": lambda db: RowLoader(lambda ids: load_points_entries(db, ids)),
    "no_show_report": lambda db: RowLoader(lambda ids: load_no_show_reports(db, ids)),
    "upload": lambda db: RowLoader(lambda ids: load_uploads(db, ids)),
    "audit_entry": lambda db: RowLoader(lambda ids: load_audit_entries(db, ids)),
    "block": lambda db: DataLoader(lambda ids: load_blocks(db, ids)),
    "question": lambda db: DataLoader(lambda ids: load_questions(db, ids)),
    "rubric": lambda db: DataLoader(lambda ids: load_rubrics(db, ids)),
    "rubric_criteria": lambda db: DataLoader(lambda ids: load_rubric_criteria(db, ids)),
    "criterion": lambda db: DataLoader(lambda ids: load_criteria(db, ids)),
    "interview_question_ids": lambda db: DataLoader(lambda ids: load_interview_question_ids(db, ids)),
    "interview_result": lambda db: DataLoader(lambda ids: load_result_by_interview(db, ids)),
    "result": lambda db: DataLoader(lambda ids: load_results(db, ids)),
    "result_scores": lambda db: DataLoader(lambda ids: load_scores(db, ids)),
    "progress": lambda db: DataLoader(lambda keys: load_progress(db, keys)),
    "match_ticket": lambda db: DataLoader(lambda ids: load_match_tickets(db, ids)),
    "match": lambda db: DataLoader(lambda ids: load_matches(db, ids)),
    "match_tickets": lambda db: DataLoader(lambda ids: load_tickets_of_matches(db, ids)),
}


def forget(loader: DataLoader[Any, Any], key: Any) -> None:
    """Drop `key` from a loader's cache after a write (a no-op when it was never loaded), and from the
    views of a `RowLoader` (e.g. `forget(uow.loaders.user, user_id)` drops every cached form of the
    member)."""
    with suppress(KeyError):
        loader.clear(key)
