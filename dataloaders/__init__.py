"""Per-request batched loaders. Build a fresh `Loaders` per HTTP request and per subscription event."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from dataloaders.accounts import load_user_specialization_ids, load_users
from dataloaders.chat import MessagePageKey, load_message_pages
from dataloaders.interviews import (
    UserStatsRow,
    load_active_interview_by_slot,
    load_feedback_by_interview,
    load_interviews,
    load_user_stats,
)
from dataloaders.slots import load_slots
from dataloaders.specializations import load_specializations
from db.models import Feedback, Interview, Slot, Specialization, User

if TYPE_CHECKING:
    from db.session import Db


@dataclass
class Loaders:
    db: Db
    user: DataLoader[int, User | None] = field(init=False)
    specialization: DataLoader[int, Specialization | None] = field(init=False)
    user_specialization_ids: DataLoader[int, list[int]] = field(init=False)
    slot: DataLoader[int, Slot | None] = field(init=False)
    interview: DataLoader[int, Interview | None] = field(init=False)
    slot_active_interview: DataLoader[int, Interview | None] = field(init=False)
    interview_feedback: DataLoader[int, list[Feedback]] = field(init=False)
    user_stats: DataLoader[int, UserStatsRow] = field(init=False)
    message_page: DataLoader[MessagePageKey, list[Any]] = field(init=False)
    # Loaders of ready-made GraphQL objects, created on first use by schema types (see _user_soon).
    nodes: dict[str, DataLoader[Any, Any]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        db = self.db
        self.user = DataLoader(lambda ids: load_users(db, ids))
        self.specialization = DataLoader(lambda ids: load_specializations(db, ids))
        self.user_specialization_ids = DataLoader(lambda ids: load_user_specialization_ids(db, ids))
        self.slot = DataLoader(lambda ids: load_slots(db, ids))
        self.interview = DataLoader(lambda ids: load_interviews(db, ids))
        self.slot_active_interview = DataLoader(lambda ids: load_active_interview_by_slot(db, ids))
        self.interview_feedback = DataLoader(lambda ids: load_feedback_by_interview(db, ids))
        self.user_stats = DataLoader(lambda ids: load_user_stats(db, ids))
        self.message_page = DataLoader(lambda keys: load_message_pages(db, keys))


def forget(loader: DataLoader[Any, Any], key: Any) -> None:
    """Drop `key` from a loader's cache after a write (a no-op when it was never loaded)."""
    with suppress(KeyError):
        loader.clear(key)
