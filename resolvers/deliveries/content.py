"""What a notification says outside the app: a subject and lines of text per kind, and the JSON body
webhooks receive."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from app.core.enums import NotificationKind
from db.models import Notification

SUBJECTS: dict[str, str] = {
    NotificationKind.BOOKED: "Your slot was booked",
    NotificationKind.BOOKING_CONFIRMED: "Your booking is confirmed",
    NotificationKind.CANCELLED: "An interview was cancelled",
    NotificationKind.REMINDER: "Your interview starts soon",
    NotificationKind.FEEDBACK_RECEIVED: "You received feedback",
    NotificationKind.NO_SHOW_RESOLVED: "A no-show report was resolved",
    NotificationKind.NO_SHOW_REPORTED: "You were reported as absent",
    NotificationKind.POINTS_CHANGED: "Your points balance changed",
    NotificationKind.INTERVIEW_STARTED: "Your interview has started",
    NotificationKind.INTERVIEW_COMPLETED: "Your interview is complete",
}
# Kinds whose email carries the interview as a calendar invite.
INVITE_KINDS = frozenset(
    {NotificationKind.BOOKED, NotificationKind.BOOKING_CONFIRMED, NotificationKind.CANCELLED}
)
LABELS = {
    "starts_at": "Starts at (UTC)",
    "minutes_before": "Minutes before the start",
    "balance_after": "Balance after",
    "reason": "Reason",
    "amount": "Amount",
    "rating": "Rating",
    "upheld": "Upheld",
    "body": "Message",
}


def subject(kind: str) -> str:
    return SUBJECTS.get(kind, "New notification: " + kind.replace("_", " ").lower())


def detail_lines(payload: Mapping[str, Any]) -> list[str]:
    """The payload as `Label: value` lines (ids are for machines and stay out)."""
    return [
        f"{LABELS.get(key, key.replace('_', ' ').capitalize())}: {value}"
        for key, value in payload.items()
        if not key.endswith("_id") and value is not None
    ]


def email_bodies(notification: Notification, unsubscribe_url: str) -> tuple[str, str]:
    """Plain text and HTML bodies of the email for one notification."""
    title = subject(notification.kind)
    lines = detail_lines(notification.payload)
    footer = f"Stop these emails: {unsubscribe_url}"
    text = "\n".join([title, "", *lines, "", footer]) + "\n"
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    body = (
        f"<html><body><h1>{html.escape(title)}</h1><ul>{items}</ul>"
        f'<p><a href="{html.escape(unsubscribe_url)}">Stop these emails</a></p></body></html>'
    )
    return text, body


def webhook_body(notification: Notification, delivery_id: int) -> bytes:
    """The JSON a webhook receives: the notification as stored (database ids, snake_case keys)."""
    document = {
        "id": delivery_id,
        "notification_id": notification.id,
        "kind": notification.kind,
        "created_at": notification.created_at.isoformat(),
        "payload": notification.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def short_text(notification: Notification) -> str:
    """The title and detail lines as plain text (Telegram messages, push notification bodies)."""
    return "\n".join([subject(notification.kind), *detail_lines(notification.payload)])


def push_payload(notification: Notification, delivery_id: int, max_bytes: int) -> bytes:
    """What a service worker receives (decrypted) in its `push` event: enough to show the
    notification without a request; `id` is the delivery id (the same on every retry)."""
    document: dict[str, Any] = {
        "id": delivery_id,
        "notification_id": notification.id,
        "kind": notification.kind,
        "created_at": notification.created_at.isoformat(),
        "title": subject(notification.kind),
        "body": "\n".join(detail_lines(notification.payload)),
    }
    encoded = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    if len(encoded) > max_bytes:  # long free text (a message body): the app shows it in full
        document["body"] = document["body"][: max(0, len(document["body"]) - (len(encoded) - max_bytes) - 3)]
        document["body"] += "..."
        encoded = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=True).encode()
    return encoded
