"""The live events domain operations announce once their change has committed.

Their shapes are read by the schema's subscriptions; channel names come from `app.core.channels`.
"""

from __future__ import annotations

from app.core.enums import SlotEventKind
from resolvers.unit_of_work import UnitOfWork


def announce_slot(uow: UnitOfWork, kind: SlotEventKind, slot_id: int) -> None:
    """After commit: a slot was published, booked, reopened or withdrawn (the open-slot board)."""
    uow.publish_after_commit(uow.channels.board(), {"kind": kind.value, "slot_id": slot_id})


def announce_interview(uow: UnitOfWork, interview_id: int) -> None:
    """After commit: an interview's status or archive flags changed."""
    uow.publish_after_commit(uow.channels.interview(interview_id), {"interview_id": interview_id})
