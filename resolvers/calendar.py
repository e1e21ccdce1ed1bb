"""ICS (RFC 5545) events for interviews and the per-member secret calendar feed (docs/product.md, rule 19)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy import Select, and_, or_, select, update

from app.core.enums import InterviewStatus
from dataloaders import forget
from db.models import Interview, Slot, Specialization, User
from resolvers.unit_of_work import UnitOfWork

PRODID = "-//Mock Interview//Mock Interview API//EN"
FEED_LIMIT = 500


@dataclass(frozen=True)
class EventParts:
    """Everything one VEVENT shows; `video_link` is None when the reader may not see it."""

    interview: Interview
    title: str | None
    video_link: str | None
    interviewer_name: str
    candidate_name: str
    specialization_name: str


def event_uid(interview_id: int) -> str:
    """Stable across updates, so calendar apps update the event instead of duplicating it."""
    return f"interview-{interview_id}@mockinterview"


def _sequence(interview: Interview) -> int:
    """Grows with every lifecycle change, as RFC 5545 requires for revised events."""
    changes = (interview.started_at, interview.completed_at, interview.cancelled_at)
    return sum(1 for value in changes if value is not None) + (
        1 if interview.no_show_user_id is not None else 0
    )


def build_event(parts: EventParts) -> Event:
    """One VEVENT with UTC times; STATUS:CANCELLED for a cancelled interview."""
    interview = parts.interview
    summary = parts.title or f"Mock interview: {parts.specialization_name}"
    event = Event()
    event.add("uid", event_uid(interview.id))
    event.add("dtstamp", (interview.updated_at or interview.created_at).astimezone(UTC))
    event.add("dtstart", interview.starts_at.astimezone(UTC))
    event.add("dtend", interview.ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("sequence", _sequence(interview))
    event.add("status", "CANCELLED" if interview.status == InterviewStatus.CANCELLED else "CONFIRMED")
    lines = [
        f"Topic: {parts.specialization_name}",
        f"Interviewer: {parts.interviewer_name}",
        f"Candidate: {parts.candidate_name}",
        f"Status: {interview.status}",
    ]
    if parts.video_link:
        event.add("url", parts.video_link)
        event.add("location", parts.video_link)
        lines.append(f"Video link: {parts.video_link}")
    event.add("description", "\n".join(lines))
    return event


def calendar_text(events: list[Event], name: str | None = None) -> str:
    """A VCALENDAR document wrapping `events`."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("x-wr-calname", name)
    for event in events:
        calendar.add_component(event)
    text: str = calendar.to_ical().decode()
    return text


def feed_url(uow: UnitOfWork, token: str) -> str:
    """The secret feed URL calendar apps subscribe to."""
    return uow.settings.public_url(f"/calendar/{token}.ics")


async def regenerate_calendar_token(uow: UnitOfWork, actor: User) -> User:
    """Replace the actor's feed token; the old URL stops working at once."""
    async with uow.db.transaction() as session:
        await session.execute(
            update(User).where(User.id == actor.id).values(calendar_token=secrets.token_hex(32))
        )
        user = await session.get(User, actor.id, populate_existing=True)
        assert user is not None
    forget(uow.loaders.user, actor.id)
    return user


async def _names_by_id(uow: UnitOfWork, statement: Select[int, str]) -> dict[int, str]:
    """`{id: name}` from a select of (id, name)."""
    result: Any = await uow.db.execute(statement)
    return dict(result.all())


async def feed_for_token(uow: UnitOfWork, token: str) -> str | None:
    """The member's non-archived interviews (both roles) as a calendar, or None for a bad token."""
    user = (await uow.db.execute(select(User).where(User.calendar_token == token))).scalar()
    if user is None:
        return None
    mine = or_(
        and_(Interview.interviewer_id == user.id, Interview.archived_by_interviewer.is_(False)),
        and_(Interview.candidate_id == user.id, Interview.archived_by_candidate.is_(False)),
    )
    rows: list[Any] = list(
        (
            await uow.db.execute(
                select(Interview, Slot)
                .join(Slot, Slot.id == Interview.slot_id)
                .where(mine)
                .order_by(Interview.starts_at.desc(), Interview.id.desc())
                .limit(FEED_LIMIT)
            )
        ).all()
    )
    user_ids = {i.interviewer_id for i, _ in rows} | {i.candidate_id for i, _ in rows}
    users = select(User.id, User.display_name).where(User.id.in_(user_ids))
    names = await _names_by_id(uow, users) if user_ids else {}
    spec_ids = {i.specialization_id for i, _ in rows}
    specializations = select(Specialization.id, Specialization.name).where(Specialization.id.in_(spec_ids))
    topics = await _names_by_id(uow, specializations) if spec_ids else {}
    events = [
        build_event(
            EventParts(
                interview=interview,
                title=slot.title,
                video_link=slot.video_link,
                interviewer_name=names.get(interview.interviewer_id, ""),
                candidate_name=names.get(interview.candidate_id, ""),
                specialization_name=topics.get(interview.specialization_id, ""),
            )
        )
        for interview, slot in rows
    ]
    return calendar_text(events, name="Mock interviews")
