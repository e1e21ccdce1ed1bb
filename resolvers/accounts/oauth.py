"""Signing in through an external provider (OAuth 2 / OpenID Connect): find, link or create the member."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.enums import LedgerKind
from app.core.errors import Conflict, Forbidden
from db.models import OAuthIdentity, User
from resolvers import audit
from resolvers.accounts.credentials import throttle
from resolvers.accounts.sessions import IssuedTokens, blocked_error, issue_tokens
from resolvers.points import change_balance
from resolvers.unit_of_work import UnitOfWork

UNVERIFIED_EMAIL = "The provider has not verified this email address; verify it there and try again."


@dataclass(frozen=True)
class ExternalIdentity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def _display_name(identity: ExternalIdentity) -> str:
    name = (identity.name or "").strip() or (identity.email or "member").split("@")[0]
    return name[:80] or "member"


async def sign_in_external(uow: UnitOfWork, identity: ExternalIdentity) -> IssuedTokens:
    """The token pair for the member behind `identity`.

    Known (provider, subject) → that member. Otherwise a provider-verified email links to the member
    with that email, or creates a new member with the signup grant. An unverified (or missing) email
    creates nothing and links nothing: FORBIDDEN, so nobody can claim someone else's address.
    """
    await throttle(uow, f"login:ip:{uow.client_ip}", uow.settings.rate_limit_login_per_ip)
    now = uow.now()
    async with uow.db.transaction() as session:
        user = await session.scalar(
            select(User)
            .join(OAuthIdentity, OAuthIdentity.user_id == User.id)
            .where(
                OAuthIdentity.provider == identity.provider,
                OAuthIdentity.subject == identity.subject,
            )
        )
        action = "auth.oauth_login"
        if user is None:
            if not identity.email or not identity.email_verified:
                raise Forbidden(UNVERIFIED_EMAIL)
            email = identity.email.strip().lower()
            user = await session.scalar(select(User).where(User.email == email))
            if user is not None:
                action = "auth.oauth_linked"
            else:
                action = "auth.oauth_sign_up"
                user = User(
                    email=email,
                    password_hash=None,
                    display_name=_display_name(identity),
                    email_verified=True,
                )
                session.add(user)
                await session.flush()
                if uow.settings.signup_grant_points > 0:
                    await change_balance(
                        session,
                        user.id,
                        uow.settings.signup_grant_points,
                        LedgerKind.GRANT,
                        reason="Signup grant",
                        uow=None,  # part of opening the account, not news (docs/product.md, rule 26)
                    )
            session.add(
                OAuthIdentity(
                    user_id=user.id,
                    provider=identity.provider,
                    subject=identity.subject,
                    email=email,
                )
            )
            try:
                await session.flush()
            except IntegrityError as exc:
                raise Conflict("This identity was linked concurrently; try again.") from exc
        blocked = blocked_error(user, now)
        if blocked is not None:
            raise blocked
        await audit.record(
            session,
            action,
            actor_id=user.id,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
            provider=identity.provider,
        )
        tokens = await issue_tokens(uow, session, user)
        await session.refresh(user)
    return tokens
