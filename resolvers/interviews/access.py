"""Who may see an interview: its two participants and staff; everyone else must not learn it exists."""

from __future__ import annotations

from app.core.enums import STAFF_ROLES
from db.models import Interview, User


def is_participant(viewer: User | None, interview: Interview) -> bool:
    """True when `viewer` is the interviewer or the candidate."""
    return viewer is not None and viewer.id in (interview.interviewer_id, interview.candidate_id)


def can_view_interview(viewer: User | None, interview: Interview) -> bool:
    """Participants and staff may see an interview; everyone else must not learn it exists."""
    return viewer is not None and (is_participant(viewer, interview) or viewer.role in STAFF_ROLES)
