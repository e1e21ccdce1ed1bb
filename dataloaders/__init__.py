"""Per-request batched loaders. Build a fresh `Loaders` per HTTP request and per subscription event."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from dataloaders.accounts import load_specializations, load_user_specialization_ids, load_users
from db.models import Specialization, User

if TYPE_CHECKING:
    from app.context import Db


@dataclass
class Loaders:
    db: Db
    user: DataLoader[int, User | None] = field(init=False)
    specialization: DataLoader[int, Specialization | None] = field(init=False)
    user_specialization_ids: DataLoader[int, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        db = self.db
        self.user = DataLoader(lambda ids: load_users(db, ids))
        self.specialization = DataLoader(lambda ids: load_specializations(db, ids))
        self.user_specialization_ids = DataLoader(lambda ids: load_user_specialization_ids(db, ids))


def forget(loader: DataLoader[Any, Any], key: Any) -> None:
    """Drop `key` from a loader's cache after a write (a no-op when it was never loaded)."""
    with suppress(KeyError):
        loader.clear(key)
