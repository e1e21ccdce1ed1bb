"""The names of the events hub's channels: the one place they are spelled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channels:
    """Channel names under one deployment's prefix (`REDIS_PREFIX`), shared by every instance."""

    prefix: str

    def board(self) -> str:
        """The open-slot board: a slot was published, booked, reopened or withdrawn."""
        return f"{self.prefix}slots"

    def interview(self, interview_id: int) -> str:
        """One interview's status and archive changes."""
        return f"{self.prefix}interview:{interview_id}"

    def chat(self, interview_id: int) -> str:
        """One interview's new chat messages."""
        return f"{self.prefix}interview:{interview_id}:chat"

    def notifications(self, user_id: int) -> str:
        """One member's new notifications."""
        return f"{self.prefix}user:{user_id}:notifications"

    def matches(self, user_id: int) -> str:
        """One member's matches: the matching queue paired them (`matchFound`)."""
        return f"{self.prefix}user:{user_id}:matches"

    def control(self, user_id: int) -> str:
        """One member's access changes (blocked, logged out, sessions revoked, role changed): their
        live sockets and feeds re-check or close."""
        return f"{self.prefix}user:{user_id}:control"

    def access(self) -> str:
        """Every member's access changes, as on their control channels plus `userId`: each instance
        follows it to drop its cached session state (`app.core.session_cache`)."""
        return f"{self.prefix}access"
