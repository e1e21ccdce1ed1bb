"""Permission directives that show in the SDL and enforce themselves.

`@isAuthenticated` and `@requiresRole(roles: [...])` are attached with
`PermissionExtension(..., use_directives=True)` (plain `permission_classes` prints nothing).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location

from app.core.enums import STAFF_ROLES, Role
from app.core.errors import Forbidden
from schema.context import Context

# The kernel's Role is the GraphQL enum too (shared by accounts, moderation and `@requiresRole`).
strawberry.enum(Role, name="Role", description="What a member may do on the platform.")


@strawberry.schema_directive(
    name="isAuthenticated",
    locations=[Location.FIELD_DEFINITION],
    description="The caller must be signed in (and not blocked).",
)
class IsAuthenticatedDirective:
    pass


@strawberry.schema_directive(
    name="requiresRole",
    locations=[Location.FIELD_DEFINITION],
    description="The caller must be signed in with one of these roles.",
)
class RequiresRoleDirective:
    roles: list[Role]


class IsAuthenticated(BasePermission):
    _schema_directive = IsAuthenticatedDirective()

    async def has_permission(self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any) -> bool:
        info.context.require_viewer()  # raises UNAUTHENTICATED / FORBIDDEN (blocked) itself
        return True


class RequiresRole(BasePermission):
    message = "Your role does not allow this."

    def __init__(self, *roles: Role) -> None:
        self.roles = roles
        self._schema_directive = RequiresRoleDirective(roles=list(roles))  # type: ignore[misc]

    async def has_permission(self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any) -> bool:
        viewer = info.context.require_viewer()
        if Role(viewer.role) not in self.roles:
            raise Forbidden(self.message)
        return True


def authenticated() -> list[FieldExtension]:
    """Field extensions for `@isAuthenticated`."""
    return [PermissionExtension([IsAuthenticated()], use_directives=True)]


def requires_role(*roles: Role) -> list[FieldExtension]:
    """Field extensions for `@requiresRole(roles: [...])`."""
    return [PermissionExtension([RequiresRole(*roles)], use_directives=True)]


# `@requiresRole` arguments, in the enum's order as the SDL prints them.
MODERATOR_ROLES = tuple(role for role in Role if role in STAFF_ROLES)
ADMIN_ROLES = (Role.ADMIN,)


def is_staff(context: Context) -> bool:
    """True when the signed-in member is a moderator or admin."""
    viewer = context.viewer
    return viewer is not None and viewer.role in STAFF_ROLES


def is_admin(context: Context) -> bool:
    viewer = context.viewer
    return viewer is not None and viewer.role == Role.ADMIN
