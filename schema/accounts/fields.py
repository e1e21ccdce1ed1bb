"""Account fields: sign up, log in, sessions, the password, the viewer and member search."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay

from app.core.enums import Role
from resolvers.accounts import credentials, profile, sessions
from resolvers.accounts.sessions import IssuedTokens
from schema.accounts.types import AuthPayload, User
from schema.compiled.execution import Precompleted
from schema.compiled.pages import Page
from schema.compiled.plans import FieldRequest, compiled_object, compiled_page, request_of
from schema.compiled.roots import root_read
from schema.context import Info
from schema.ids import parse_global_id
from schema.pagination import after_id, page_size
from schema.permissions import MODERATOR_ROLES, authenticated, requires_role


@strawberry.input(description="Create an account with email and password.")
class SignUpInput:
    email: str
    password: str = strawberry.field(description="8-256 characters.")
    display_name: str = strawberry.field(description="1-80 characters.")


@strawberry.input
class LogInInput:
    email: str
    password: str


@strawberry.input(description="Fields left out (null) are not changed.")
class UpdateProfileInput:
    display_name: str | None = None
    bio: str | None = strawberry.field(default=None, description="At most 2000 characters.")
    timezone: str | None = strawberry.field(default=None, description="IANA name, e.g. Europe/Berlin.")
    specialization_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the member's specializations."
    )


def _payload(tokens: IssuedTokens) -> AuthPayload:
    return AuthPayload(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        user=User.of_caller(tokens.user),  # the caller: its private fields resolve
    )


# Staff's member search: the same statement on both paths (resolvers/accounts/profile.py).
USERS = Page(User, profile.users_statement, ("id",))


@root_read("users")
async def answer_users(
    request: FieldRequest,
    search: str | None = None,
    role: Role | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Precompleted | None:
    size = page_size(first, request.context.settings)
    pattern, email = profile.search_terms(search)
    values: dict[str, Any] = {
        "pattern": pattern,
        "email": email,
        "role": role.value if role else None,
        "after_id": after_id(after),
        "limit": size + 1,
    }
    compiled = await compiled_page(request, USERS, values, size=size, has_previous=after is not None)
    return compiled[0] if compiled is not None else None


@root_read("me")
async def answer_me(request: FieldRequest) -> Precompleted | None:
    """None for a selection of the viewer's own columns: the resolver builds it from the row the
    request's authentication already read, with no statement at all."""
    viewer = request.context.optional_viewer()
    if viewer is None:
        return None
    return await compiled_object(request, User, {"id": viewer.id}, row_in_hand=True)


@root_read("user")
async def answer_user(request: FieldRequest, id: strawberry.ID) -> Precompleted | None:
    return await compiled_object(request, User, {"id": parse_global_id(id, "User")})


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The signed-in member; null when anonymous.")
    async def me(self, info: Info) -> User | None:
        viewer = info.context.optional_viewer()
        if viewer is None:
            return None
        compiled = await answer_me(request_of(info))
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        return User.from_row(viewer)

    @strawberry.field(description="A member's public profile.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        compiled = await answer_user(request_of(info), id)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        key = parse_global_id(id, "User")
        row = await info.context.loaders.user.load(key)
        return User.from_row(row) if row else None

    @strawberry.field(
        description="Search members (staff only): `search` matches a part of the display name, or a "
        "whole email (case-insensitive).",
        extensions=requires_role(*MODERATOR_ROLES),
    )
    async def users(
        self,
        info: Info,
        search: str | None = None,
        role: Role | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[User]:
        compiled = await answer_users(request_of(info), search, role, first, after)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        size = page_size(first, info.context.settings)
        rows = await profile.search_users(
            info.context.uow, search=search, role=role, after_id=after_id(after), limit=size + 1
        )
        return USERS.connection(rows, size, has_previous=after is not None)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Create an account; returns a signed-in session.")
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthPayload:
        tokens = await credentials.sign_up(info.context.uow, input.email, input.password, input.display_name)
        return _payload(tokens)

    @strawberry.mutation(description="Exchange email and password for tokens.")
    async def log_in(self, info: Info, input: LogInInput) -> AuthPayload:
        return _payload(await credentials.log_in(info.context.uow, input.email, input.password))

    @strawberry.mutation(description="Rotate a refresh token; the old one stops working.")
    async def refresh_tokens(self, info: Info, refresh_token: str) -> AuthPayload:
        return _payload(await sessions.refresh_tokens(info.context.uow, refresh_token))

    @strawberry.mutation(description="Revoke the session this refresh token belongs to.")
    async def log_out(self, info: Info, refresh_token: str) -> bool:
        return await sessions.log_out(info.context.uow, refresh_token)

    @strawberry.mutation(description="Edit the signed-in member's profile.", extensions=authenticated())
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:
        specialization_ids = (
            [
                parse_global_id(i, "Specialization", field="specializationIds")
                for i in input.specialization_ids
            ]
            if input.specialization_ids is not None
            else None
        )
        row = await profile.update_profile(
            info.context.uow,
            info.context.require_viewer(),
            display_name=input.display_name,
            bio=input.bio,
            timezone=input.timezone,
            specialization_ids=specialization_ids,
        )
        return User.from_row(row)

    @strawberry.mutation(
        description="Revoke every session and API key of the viewer; returns how many sessions were live.",
        extensions=authenticated(),
    )
    async def log_out_all(self, info: Info) -> int:
        return await sessions.log_out_all(info.context.uow, info.context.require_session_viewer())

    @strawberry.mutation(
        description="Change the password. Every other session and every API key is revoked; the "
        "current session (the one the access token belongs to) is kept, and so is the session of "
        "`keepRefreshToken` (no longer needed).",
        extensions=authenticated(),
    )
    async def change_password(
        self,
        info: Info,
        current_password: str,
        new_password: str,
        keep_refresh_token: str | None = None,
    ) -> bool:
        return await credentials.change_password(
            info.context.uow,
            info.context.require_session_viewer(),
            current_password,
            new_password,
            keep_refresh_token,
            session_id=info.context.session_id,
        )
