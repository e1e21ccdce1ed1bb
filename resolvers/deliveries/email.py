"""The email channel: text + HTML, a calendar invite for bookings, and an RFC 8058 one-click
unsubscribe header whose signed URL the server handles (app/http/unsubscribe.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import signed_links
from app.core.mail import Mail, MailError, send_mail
from app.core.settings import Settings
from db.models import Interview, Slot, Specialization, User
from resolvers.calendar import EventParts, build_event, calendar_text
from resolvers.deliveries.channels import DeliveryFailed, Outgoing
from resolvers.deliveries.content import INVITE_KINDS, email_bodies, subject

UNSUBSCRIBE_PURPOSE = "unsubscribe-email"


def unsubscribe_token(secret: str, user_id: int, kind: str) -> str:
    return signed_links.sign(secret, UNSUBSCRIBE_PURPOSE, f"{user_id}:{kind}")


def read_unsubscribe_token(secret: str, token: str) -> tuple[int, str] | None:
    """(member id, kind) of a genuine unsubscribe token, else None."""
    payload = signed_links.verify(secret, UNSUBSCRIBE_PURPOSE, token)
    user_id, _, kind = (payload or "").partition(":")
    return (int(user_id), kind) if user_id.isdigit() and kind else None


async def interview_invite(session: AsyncSession, interview_id: int) -> str | None:
    """The interview as an ICS calendar (the same event as the calendar feed), or None if it is gone."""
    row = (
        await session.execute(
            select(Interview, Slot, Specialization.name)
            .join(Slot, Slot.id == Interview.slot_id)
            .join(Specialization, Specialization.id == Interview.specialization_id)
            .where(Interview.id == interview_id)
        )
    ).one_or_none()
    if row is None:
        return None
    interview, slot, topic = row
    participants = select(User.id, User.display_name).where(
        User.id.in_((interview.interviewer_id, interview.candidate_id))
    )
    names: dict[int, str] = dict((await session.execute(participants)).all())
    parts = EventParts(
        interview=interview,
        title=slot.title,
        video_link=slot.video_link,
        interviewer_name=names.get(interview.interviewer_id, ""),
        candidate_name=names.get(interview.candidate_id, ""),
        specialization_name=topic,
    )
    return calendar_text([build_event(parts)])


@dataclass(frozen=True)
class EmailChannel:
    """Sends through `SMTP_URL` as `EMAIL_FROM`."""

    settings: Settings
    secret_key: str

    async def send(self, item: Outgoing) -> int | None:
        notification, member = item.notification, item.member
        token = unsubscribe_token(self.secret_key, member.id, notification.kind)
        url = self.settings.public_url(f"/notifications/unsubscribe/{token}")
        text, html = email_bodies(notification, url)
        interview_id = notification.payload.get("interview_id")
        ics = None
        if notification.kind in INVITE_KINDS and isinstance(interview_id, int):
            ics = await interview_invite(item.session, interview_id)
        mail = Mail(
            to=member.email,
            subject=subject(notification.kind),
            text=text,
            html=html,
            headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            ics=ics,
            message_id=f"<delivery-{item.delivery.id}@mockinterview>",
        )
        assert self.settings.smtp_url is not None  # the wiring adds this channel only with SMTP_URL
        try:
            await send_mail(
                self.settings.smtp_url,
                self.settings.email_from,
                mail,
                socket_timeout=self.settings.smtp_timeout_seconds,
            )
        except MailError as exc:
            raise DeliveryFailed(str(exc), permanent=exc.permanent) from exc
        return None
