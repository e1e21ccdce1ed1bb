"""Uploads over the GraphQL multipart spec: preflight header, content checks, access control."""

from __future__ import annotations

import secrets
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.clock import Clock
from app.core.settings import Settings
from db.models import Interview, Slot, Specialization, User
from tests.helpers import GraphQLClient, Member, db_id
from tests.uploads.support import AVATAR, AVATAR_OF, PDF, RESUME, RESUME_OF, code, jpeg, upload, webp
from tests.uploads.support import png as png  # tests/browser imports it from here


async def test_multipart_needs_the_preflight_header(http: httpx.AsyncClient) -> None:
    member = await GraphQLClient(http).sign_up("up")
    response = await upload(http, AVATAR, png(10, 10), token=member.access_token, preflight=False)
    assert response.status_code == 400


async def test_avatar_formats_are_checked_by_content_and_served_publicly(http: httpx.AsyncClient) -> None:
    member = await GraphQLClient(http).sign_up("up")
    for data, content_type in (
        (jpeg(64, 48), "image/jpeg"),
        (webp(30, 20), "image/webp"),
        (png(32, 16), "image/png"),
    ):
        response = await upload(http, AVATAR, data, token=member.access_token, name="avatar.exe")
        body = response.json()
        assert not body.get("errors"), body
        assert body["data"]["uploadAvatar"]["contentType"] == content_type
    avatar = body["data"]["uploadAvatar"]
    assert (avatar["width"], avatar["height"]) == (32, 16)
    assert not avatar["url"].endswith(".exe")
    # Absolute, under PUBLIC_BASE_URL (tests/conftest.py sets none: the environment's, or the default).
    assert avatar["url"].startswith(Settings().public_url("/files/"))
    assert avatar["url"].startswith("http")
    served = await http.get(avatar["url"])  # anonymous
    assert served.status_code == 200
    assert served.content == png(32, 16)
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    listed = await GraphQLClient(http).data(AVATAR_OF, {"u": member.id})
    assert listed["avatar"]["url"] == avatar["url"]


async def test_bad_avatars_are_refused(http: httpx.AsyncClient) -> None:
    member = await GraphQLClient(http).sign_up("up")
    token = member.access_token
    html = b"<html><script>alert(1)</script></html>"
    assert code(await upload(http, AVATAR, html, token=token, name="a.png")) == "BAD_USER_INPUT"
    assert code(await upload(http, AVATAR, PDF, token=token)) == "BAD_USER_INPUT"
    assert code(await upload(http, AVATAR, png(5000, 10), token=token)) == "BAD_USER_INPUT"
    assert code(await upload(http, AVATAR, png(4096, 4000), token=token)) == "BAD_USER_INPUT"
    big = png(10, 10) + b"\0" * 600_000
    assert code(await upload(http, AVATAR, big, token=token)) == "BAD_USER_INPUT"
    assert code(await upload(http, AVATAR, b"", token=token)) == "BAD_USER_INPUT"
    assert code(await upload(http, AVATAR, png(10, 10))) == "UNAUTHENTICATED"


async def _book(session: AsyncSession, interviewer: Member, candidate: Member, clock: Clock) -> None:
    specialization = Specialization(name=f"Topic {secrets.token_hex(4)}")
    session.add(specialization)
    await session.flush()
    starts = clock.now() + timedelta(days=1)
    slot = Slot(
        host_id=db_id(interviewer.id),
        specialization_id=specialization.id,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=60),
        duration_minutes=60,
        video_link="https://meet.example.com/x",
        status="BOOKED",
    )
    session.add(slot)
    await session.flush()
    session.add(
        Interview(
            slot_id=slot.id,
            interviewer_id=db_id(interviewer.id),
            candidate_id=db_id(candidate.id),
            specialization_id=specialization.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
        )
    )
    await session.flush()


async def test_resume_access_control(
    http: httpx.AsyncClient, connection: AsyncConnection, clock: Clock
) -> None:
    client = GraphQLClient(http)
    owner = await client.sign_up("owner")
    stranger = await client.sign_up("stranger")
    interviewer = await client.sign_up("interviewer")
    moderator = await client.sign_up("moderator")
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
    await session.execute(update(User).where(User.id == db_id(moderator.id)).values(role="MODERATOR"))
    await _book(session, interviewer, owner, clock)
    await session.commit()  # releases the savepoint into the test's transaction
    await session.close()

    assert code(await upload(http, RESUME, png(10, 10), token=owner.access_token)) == "BAD_USER_INPUT"
    response = await upload(http, RESUME, PDF, token=owner.access_token, name="../../etc/passwd")
    assert not response.json().get("errors"), response.json()
    url = response.json()["data"]["uploadResume"]["url"]
    assert "passwd" not in url

    async def fetch(member: Member | None) -> int:
        headers = {"Authorization": f"Bearer {member.access_token}"} if member else {}
        return (await http.get(url, headers=headers)).status_code

    assert await fetch(owner) == 200
    assert await fetch(interviewer) == 200
    assert await fetch(moderator) == 200
    assert await fetch(stranger) == 404
    assert await fetch(None) == 404
    served = await http.get(url, headers={"Authorization": f"Bearer {owner.access_token}"})
    assert served.content == PDF
    assert served.headers["content-disposition"].startswith("attachment")
    assert (await client.data(RESUME_OF, {"u": owner.id}, token=stranger.access_token))["resume"] is None
    seen = await client.data(RESUME_OF, {"u": owner.id}, token=interviewer.access_token)
    assert seen["resume"]["url"] == url
    assert (await http.get("/files/" + "0" * 32 + ".pdf")).status_code == 404
    assert (await http.get("/files/..%2F..%2Fetc%2Fpasswd")).status_code == 404


REMOVE_AVATAR = "mutation { removeAvatar { id } }"


async def test_remove_avatar_deletes_the_row_and_the_file(http: httpx.AsyncClient) -> None:
    client = GraphQLClient(http)
    member, other = await client.sign_up("up"), await client.sign_up("other")
    body = (await upload(http, AVATAR, png(8, 8), token=member.access_token)).json()
    url = body["data"]["uploadAvatar"]["url"]
    await upload(http, AVATAR, png(9, 9), token=other.access_token)
    assert (await http.get(url)).status_code == 200
    assert await client.error_code(REMOVE_AVATAR) == "UNAUTHENTICATED"

    removed = await client.data(REMOVE_AVATAR, token=member.access_token)
    assert removed["removeAvatar"]["id"] == member.id
    assert (await client.data(AVATAR_OF, {"u": member.id}))["avatar"] is None
    assert (await http.get(url)).status_code == 404  # the stored file is gone too
    assert (await client.data(AVATAR_OF, {"u": other.id}))["avatar"] is not None  # only one's own
    again = await client.data(REMOVE_AVATAR, token=member.access_token)  # nothing left: no change
    assert again["removeAvatar"]["id"] == member.id
