"""GraphQL enums shared by several features."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="What a member may do on the platform.")
class Role(Enum):
    MEMBER = "MEMBER"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


ROLE_RANK = {Role.MEMBER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}
