"""Shared queries and setup helpers for the marketplace tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.enums import LedgerKind
from db.models import PointsEntry, Specialization, User
from resolvers.points import change_balance
from schema.ids import to_global_id
from tests.helpers import GraphQLClient, Member, db_id

_names = itertools.count(1)

SLOT_FIELDS = """id startsAt endsAt durationMinutes title description isOpen status videoLink
  host { id } specialization { id name }"""
INTERVIEW_FIELDS = """id status startsAt endsAt videoLink cancelledAt isArchived
  slot { id status videoLink } interviewer { id } candidate { id } cancelledBy { id }
  noShowUser { id } feedback { id rating comment author { id } }"""

CREATE_SLOT = f"""mutation($input: CreateSlotInput!) {{ createSlot(input: $input) {{ {SLOT_FIELDS} }} }}"""
WITHDRAW_SLOT = f"mutation($id: ID!) {{ withdrawSlot(id: $id) {{ {SLOT_FIELDS} }} }}"
BOOK_SLOT = f"mutation($id: ID!) {{ bookSlot(slotId: $id) {{ {INTERVIEW_FIELDS} }} }}"
OPEN_SLOTS = """query($spec: ID, $after: String, $first: Int, $sa: DateTime, $sb: DateTime) {
  openSlots(specializationId: $spec, after: $after, first: $first, startsAfter: $sa, startsBefore: $sb) {
    edges { cursor node { id startsAt videoLink isOpen } } pageInfo { hasNextPage endCursor } } }"""
INTERVIEW = f"query($id: ID!) {{ interview(id: $id) {{ {INTERVIEW_FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { id } }"
MY_INTERVIEWS = """query($status: [InterviewStatus!], $first: Int, $after: String, $arch: Boolean) {
  myInterviews(status: $status, first: $first, after: $after, includeArchived: $arch) {
    edges { node { id status startsAt } } pageInfo { hasNextPage endCursor } } }"""
CANCEL = f"mutation($id: ID!, $r: String) {{ cancelInterview(id: $id, reason: $r) {{ {INTERVIEW_FIELDS} }} }}"
START = f"mutation($id: ID!) {{ startInterview(id: $id) {{ {INTERVIEW_FIELDS} }} }}"
COMPLETE = f"mutation($id: ID!) {{ completeInterview(id: $id) {{ {INTERVIEW_FIELDS} }} }}"
ARCHIVE = f"mutation($id: ID!) {{ archiveInterview(id: $id) {{ {INTERVIEW_FIELDS} }} }}"
REPORT_NO_SHOW = """mutation($id: ID!, $r: String) { reportNoShow(id: $id, reason: $r) {
  id status reason interview { id } reporter { id } accused { id } } }"""
RESOLVE_NO_SHOW = """mutation($id: ID!, $up: Boolean!, $note: String) {
  resolveNoShow(reportId: $id, upheld: $up, note: $note) { id status note interview { id status } } }"""
SUBMIT_FEEDBACK = """mutation($input: SubmitFeedbackInput!) {
  submitFeedback(input: $input) { id rating comment author { id } createdAt } }"""
STATS = """query($id: ID!) { user(id: $id) {
  stats { interviewsGiven interviewsTaken averageRating noShows } } }"""
ME_POINTS = "query { me { id points } }"
LEDGER = """query($id: ID!, $first: Int, $after: String) { user(id: $id) {
  pointsLedger(first: $first, after: $after) {
    edges { node { id amount kind reason balanceAfter interview { id } } }
    pageInfo { hasNextPage endCursor } } } }"""
ADJUST = """mutation($id: ID!, $amount: Int!, $reason: String!) {
  adjustPoints(userId: $id, amount: $amount, reason: $reason) { id amount kind reason balanceAfter } }"""


async def new_specialization(session: AsyncSession) -> str:
    """A fresh specialization (flushed, not committed); its global ID."""
    row = Specialization(name=f"Topic {next(_names)}")
    session.add(row)
    await session.flush()
    return to_global_id("Specialization", row.id)


async def grant(session: AsyncSession, member: Member, points: int) -> None:
    """Give a member points through the ledger (flushed)."""
    await change_balance(
        session, db_id(member.id), points, LedgerKind.ADJUSTMENT, reason="test grant", uow=None
    )


async def set_role(session: AsyncSession, member: Member, role: str) -> None:
    await session.execute(update(User).where(User.id == db_id(member.id)).values(role=role))
    await session.flush()


def slot_input(spec: str, starts_at: datetime, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "specializationId": spec,
        "startsAt": starts_at.isoformat(),
        "durationMinutes": minutes,
        "videoLink": "https://meet.example.com/room-1",
        "title": "Python deep dive",
    }
    values.update(extra)
    return values


async def publish(client: GraphQLClient, host: Member, spec: str, starts_at: datetime, **extra: Any) -> str:
    data = await client.data(
        CREATE_SLOT, {"input": slot_input(spec, starts_at, **extra)}, token=host.access_token
    )
    slot_id: str = data["createSlot"]["id"]
    return slot_id


async def book(client: GraphQLClient, candidate: Member, slot_id: str) -> dict[str, Any]:
    data = await client.data(BOOK_SLOT, {"id": slot_id}, token=candidate.access_token)
    interview: dict[str, Any] = data["bookSlot"]
    return interview


async def points(client: GraphQLClient, member: Member) -> int:
    data = await client.data(ME_POINTS, token=member.access_token)
    value: int = data["me"]["points"]
    return value


async def assert_ledger_consistent(session: AsyncSession) -> None:
    """For every member, the balance equals the ledger sum and the last balanceAfter."""
    ledger_sum = (
        select(PointsEntry.user_id, func.coalesce(func.sum(PointsEntry.amount), 0).label("total"))
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(User.id, User.points_balance, func.coalesce(ledger_sum.c.total, 0)).outerjoin(
                ledger_sum, ledger_sum.c.user_id == User.id
            )
        )
    ).all()
    assert rows
    for user_id, balance, total in rows:
        assert balance == total, (user_id, balance, total)
        assert balance >= 0
    last = await session.execute(
        text(
            "SELECT DISTINCT ON (user_id) user_id, balance_after FROM points_ledger ORDER BY user_id, id DESC"
        )
    )
    balances = {r[0]: r[1] for r in rows}
    for user_id, balance_after in last.all():
        assert balances[user_id] == balance_after


def later(now: datetime, **delta: float) -> datetime:
    return now + timedelta(**delta)


LOG_IN = """mutation($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) { accessToken } }"""


async def relog(client: GraphQLClient, *members: Member) -> None:
    """Fresh access tokens after the clock moved past their lifetime."""
    for member in members:
        data = await client.data(LOG_IN, {"email": member.email, "password": member.password})
        member.access_token = data["logIn"]["accessToken"]


async def travel(client: GraphQLClient, clock: Any, delta: timedelta, *members: Member) -> None:
    """Move the clock and re-authenticate `members`."""
    clock.shift(delta)
    await relog(client, *members)


def tomorrow(clock: Clock, hours: float = 0) -> datetime:
    return (clock.now() + timedelta(days=1, hours=hours)).replace(microsecond=0)
