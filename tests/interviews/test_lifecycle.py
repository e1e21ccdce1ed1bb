"""Interview lifecycle, no-shows, archiving, feedback, stats and the ledger
(docs/product.md, rules 1-4, 9-12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import AuditEntry, Interview, Slot, User
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import (
    ADJUST,
    ARCHIVE,
    BOOK_SLOT,
    CANCEL,
    COMPLETE,
    INTERVIEW,
    LEDGER,
    MY_INTERVIEWS,
    OPEN_SLOTS,
    REPORT_NO_SHOW,
    RESOLVE_NO_SHOW,
    START,
    STATS,
    SUBMIT_FEEDBACK,
    assert_ledger_consistent,
    book,
    new_specialization,
    points,
    publish,
    set_role,
    travel,
)


@dataclass
class Booked:
    host: Member
    candidate: Member
    stranger: Member
    slot_id: str
    interview_id: str
    spec: str


async def booked(client: GraphQLClient, db_session: AsyncSession, clock: Clock, hours: float = 24) -> Booked:
    host, candidate, stranger = [await client.sign_up(n) for n in ("host", "cand", "stranger")]
    spec = await new_specialization(db_session)
    start = (clock.now() + timedelta(hours=hours)).replace(microsecond=0)
    slot_id = await publish(client, host, spec, start)
    interview = await book(client, candidate, slot_id)
    return Booked(host, candidate, stranger, slot_id, interview["id"], spec)


def until_start(b: Booked, clock: Clock, hours: float = 24) -> timedelta:
    return timedelta(hours=hours)


async def test_candidate_cancels_before_cutoff_with_refund_and_slot_reopens(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock)
    assert await points(client, b.candidate) == 0
    stranger_code = await client.error_code(CANCEL, {"id": b.interview_id}, token=b.stranger.access_token)
    assert stranger_code == "NOT_FOUND"
    cancelled = (
        await client.data(CANCEL, {"id": b.interview_id, "r": "sick"}, token=b.candidate.access_token)
    )["cancelInterview"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancelledAt"]
    assert cancelled["cancelledBy"]["id"] == b.candidate.id
    assert cancelled["slot"]["status"] == "OPEN"
    assert await points(client, b.candidate) == 1
    board = (await client.data(OPEN_SLOTS, {"spec": b.spec}))["openSlots"]["edges"]
    assert [e["node"]["id"] for e in board] == [b.slot_id]
    again = await client.error_code(CANCEL, {"id": b.interview_id}, token=b.candidate.access_token)
    assert again == "CONFLICT"
    # The reopened slot can be booked again (a new interview, a new spend).
    rebooked = await book(client, b.stranger, b.slot_id)
    assert rebooked["id"] != b.interview_id
    await assert_ledger_consistent(db_session)


async def test_candidate_cannot_cancel_after_cutoff(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock, hours=3)
    await travel(client, clock, timedelta(hours=1, minutes=1), b.candidate, b.host)  # 1h59m before
    assert (
        await client.error_code(CANCEL, {"id": b.interview_id}, token=b.candidate.access_token) == "CONFLICT"
    )
    assert await points(client, b.candidate) == 0
    # The interviewer may still cancel; the candidate is refunded and the cancel is on their record.
    cancelled = (await client.data(CANCEL, {"id": b.interview_id}, token=b.host.access_token))[
        "cancelInterview"
    ]
    assert cancelled["cancelledBy"]["id"] == b.host.id
    assert cancelled["slot"]["status"] == "OPEN"
    assert await points(client, b.candidate) == 1
    row = await db_session.get(Interview, db_id(b.interview_id), populate_existing=True)
    assert row is not None
    assert row.cancelled_by_id == db_id(b.host.id)
    record = "query($id: ID!) { user(id: $id) { stats { interviewerCancellations } } }"
    host_stats = (await client.data(record, {"id": b.host.id}))["user"]["stats"]
    assert host_stats == {"interviewerCancellations": 1}
    candidate_stats = (await client.data(record, {"id": b.candidate.id}))["user"]["stats"]
    assert candidate_stats == {"interviewerCancellations": 0}
    await assert_ledger_consistent(db_session)


async def test_interviewer_cannot_cancel_after_start_and_past_slot_stays_closed(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock, hours=1)
    await travel(client, clock, timedelta(hours=1, seconds=1), b.candidate, b.host)
    assert await client.error_code(CANCEL, {"id": b.interview_id}, token=b.host.access_token) == "CONFLICT"
    assert (
        await client.error_code(CANCEL, {"id": b.interview_id}, token=b.candidate.access_token) == "CONFLICT"
    )


async def test_start_window_and_completion(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock, hours=1)
    host, candidate = b.host, b.candidate
    assert await client.error_code(START, {"id": b.interview_id}, token=host.access_token) == "CONFLICT"
    assert await client.error_code(COMPLETE, {"id": b.interview_id}, token=host.access_token) == "CONFLICT"
    await travel(client, clock, timedelta(minutes=51), host, candidate, b.stranger)  # 9 minutes before
    assert (
        await client.error_code(START, {"id": b.interview_id}, token=b.stranger.access_token) == "NOT_FOUND"
    )
    started = (await client.data(START, {"id": b.interview_id}, token=candidate.access_token))[
        "startInterview"
    ]
    assert started["status"] == "IN_PROGRESS"
    again = (await client.data(START, {"id": b.interview_id}, token=host.access_token))["startInterview"]
    assert again["status"] == "IN_PROGRESS"  # both may press start
    assert await client.error_code(CANCEL, {"id": b.interview_id}, token=host.access_token) == "CONFLICT"
    assert (
        await client.error_code(COMPLETE, {"id": b.interview_id}, token=candidate.access_token) == "FORBIDDEN"
    )
    assert (
        await client.error_code(COMPLETE, {"id": b.interview_id}, token=b.stranger.access_token)
        == "NOT_FOUND"
    )
    # Too early: not before COMPLETE_AFTER_MINUTES (15) after the scheduled start (rule 10).
    assert await client.error_code(COMPLETE, {"id": b.interview_id}, token=host.access_token) == "CONFLICT"
    await travel(client, clock, timedelta(minutes=24), host, candidate, b.stranger)  # 15 minutes after
    before = await points(client, host)
    done = (await client.data(COMPLETE, {"id": b.interview_id}, token=host.access_token))["completeInterview"]
    assert done["status"] == "COMPLETED"
    assert await points(client, host) == before + 1
    assert await client.error_code(COMPLETE, {"id": b.interview_id}, token=host.access_token) == "CONFLICT"
    assert await points(client, host) == before + 1  # the reward is paid once
    assert await client.error_code(START, {"id": b.interview_id}, token=host.access_token) == "CONFLICT"
    await assert_ledger_consistent(db_session)


async def test_cannot_start_after_the_end(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock, hours=1)
    await travel(client, clock, timedelta(hours=2, minutes=1), b.host)
    assert await client.error_code(START, {"id": b.interview_id}, token=b.host.access_token) == "CONFLICT"


async def no_show_setup(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> tuple[Booked, Member]:
    b = await booked(client, db_session, clock, hours=1)
    moderator = await client.sign_up("mod")
    await set_role(db_session, moderator, "MODERATOR")
    return b, moderator


async def test_candidate_no_show_forfeits_the_point(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b, moderator = await no_show_setup(client, db_session, clock)
    await travel(client, clock, timedelta(hours=1, minutes=9), b.host, b.candidate, b.stranger, moderator)
    code = await client.error_code(REPORT_NO_SHOW, {"id": b.interview_id}, token=b.host.access_token)
    assert code == "CONFLICT"  # too early
    await travel(client, clock, timedelta(minutes=1), b.host, b.candidate, b.stranger, moderator)
    stranger = await client.error_code(REPORT_NO_SHOW, {"id": b.interview_id}, token=b.stranger.access_token)
    assert stranger == "NOT_FOUND"
    report = (
        await client.data(
            REPORT_NO_SHOW, {"id": b.interview_id, "r": "never came"}, token=b.host.access_token
        )
    )["reportNoShow"]
    assert report["status"] == "OPEN"
    assert report["accused"]["id"] == b.candidate.id
    dup = await client.error_code(REPORT_NO_SHOW, {"id": b.interview_id}, token=b.candidate.access_token)
    assert dup == "CONFLICT"
    reports_query = "query { noShowReports { edges { node { id status accused { id } } } } }"
    assert await client.error_code(reports_query, token=b.host.access_token) == "FORBIDDEN"
    listed = (await client.data(reports_query, token=moderator.access_token))["noShowReports"]["edges"]
    assert [e["node"]["id"] for e in listed] == [report["id"]]
    args = {"id": report["id"], "up": True, "note": "confirmed"}
    assert await client.error_code(RESOLVE_NO_SHOW, args, token=b.host.access_token) == "FORBIDDEN"
    resolved = (await client.data(RESOLVE_NO_SHOW, args, token=moderator.access_token))["resolveNoShow"]
    assert resolved["status"] == "UPHELD"
    assert resolved["interview"]["status"] == "NO_SHOW"
    assert await client.error_code(RESOLVE_NO_SHOW, args, token=moderator.access_token) == "CONFLICT"
    assert await points(client, b.candidate) == 0
    stats = (await client.data(STATS, {"id": b.candidate.id}))["user"]["stats"]
    assert stats["noShows"] == 1
    assert await client.error_code(COMPLETE, {"id": b.interview_id}, token=b.host.access_token) == "CONFLICT"
    audit = await db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "no_show.resolved")
    )
    assert audit == 1
    await assert_ledger_consistent(db_session)


async def test_interviewer_no_show_refunds_and_strikes(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b, moderator = await no_show_setup(client, db_session, clock)
    await travel(client, clock, timedelta(hours=1, minutes=15), b.candidate, moderator)
    report = (await client.data(REPORT_NO_SHOW, {"id": b.interview_id}, token=b.candidate.access_token))[
        "reportNoShow"
    ]
    assert report["accused"]["id"] == b.host.id
    resolved = (
        await client.data(RESOLVE_NO_SHOW, {"id": report["id"], "up": True}, token=moderator.access_token)
    )["resolveNoShow"]
    assert resolved["interview"]["status"] == "NO_SHOW"
    assert await points(client, b.candidate) == 1
    host = await db_session.get(User, db_id(b.host.id), populate_existing=True)
    assert host is not None
    assert host.strikes == 1
    stats = (await client.data(STATS, {"id": b.host.id}))["user"]["stats"]
    assert stats["noShows"] == 1
    await assert_ledger_consistent(db_session)


async def test_rejected_no_show_report_changes_nothing(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b, moderator = await no_show_setup(client, db_session, clock)
    await travel(client, clock, timedelta(hours=1, minutes=15), b.candidate, b.host, moderator)
    report = (await client.data(REPORT_NO_SHOW, {"id": b.interview_id}, token=b.candidate.access_token))[
        "reportNoShow"
    ]
    resolved = (
        await client.data(RESOLVE_NO_SHOW, {"id": report["id"], "up": False}, token=moderator.access_token)
    )["resolveNoShow"]
    assert resolved["status"] == "REJECTED"
    assert resolved["interview"]["status"] == "SCHEDULED"
    assert await points(client, b.candidate) == 0


async def test_archive_only_finished_and_hidden_by_default(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock)
    args = {"id": b.interview_id}
    assert await client.error_code(ARCHIVE, args, token=b.candidate.access_token) == "CONFLICT"
    await client.data(CANCEL, args, token=b.candidate.access_token)
    assert await client.error_code(ARCHIVE, args, token=b.stranger.access_token) == "NOT_FOUND"
    archived = (await client.data(ARCHIVE, args, token=b.candidate.access_token))["archiveInterview"]
    assert archived["isArchived"] is True
    mine = (await client.data(MY_INTERVIEWS, token=b.candidate.access_token))["myInterviews"]["edges"]
    assert mine == []
    with_archived = await client.data(MY_INTERVIEWS, {"arch": True}, token=b.candidate.access_token)
    assert [e["node"]["id"] for e in with_archived["myInterviews"]["edges"]] == [b.interview_id]
    host_view = (await client.data(MY_INTERVIEWS, token=b.host.access_token))["myInterviews"]["edges"]
    assert [e["node"]["id"] for e in host_view] == [b.interview_id]  # archiving is per participant
    only_cancelled = await client.data(MY_INTERVIEWS, {"status": ["COMPLETED"]}, token=b.host.access_token)
    assert only_cancelled["myInterviews"]["edges"] == []


async def test_feedback_rules_and_stats(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock, hours=1)

    def fb(rating: int = 5, comment: str = "Great questions, thanks!") -> dict[str, object]:
        return {"input": {"interviewId": b.interview_id, "rating": rating, "comment": comment}}

    assert await client.error_code(SUBMIT_FEEDBACK, fb(), token=b.candidate.access_token) == "CONFLICT"
    await travel(client, clock, timedelta(hours=1), b.host, b.candidate, b.stranger)
    await client.data(START, {"id": b.interview_id}, token=b.host.access_token)
    await travel(client, clock, timedelta(minutes=15), b.host, b.candidate, b.stranger)
    await client.data(COMPLETE, {"id": b.interview_id}, token=b.host.access_token)
    for bad in (fb(rating=0), fb(rating=6), fb(comment="too short"), fb(comment="x" * 2001)):
        assert (
            await client.error_code(SUBMIT_FEEDBACK, bad, token=b.candidate.access_token) == "BAD_USER_INPUT"
        )
    assert await client.error_code(SUBMIT_FEEDBACK, fb(), token=b.stranger.access_token) == "NOT_FOUND"
    given = (await client.data(SUBMIT_FEEDBACK, fb(4), token=b.candidate.access_token))["submitFeedback"]
    assert given["rating"] == 4
    assert given["author"]["id"] == b.candidate.id
    assert await client.error_code(SUBMIT_FEEDBACK, fb(1), token=b.candidate.access_token) == "CONFLICT"
    await client.data(SUBMIT_FEEDBACK, fb(2, "Well prepared candidate"), token=b.host.access_token)
    interview = (await client.data(INTERVIEW, {"id": b.interview_id}, token=b.host.access_token))["interview"]
    assert sorted(f["rating"] for f in interview["feedback"]) == [2, 4]
    host_stats = (await client.data(STATS, {"id": b.host.id}))["user"]["stats"]
    assert host_stats == {"interviewsGiven": 1, "interviewsTaken": 0, "averageRating": 4.0, "noShows": 0}
    cand_stats = (await client.data(STATS, {"id": b.candidate.id}))["user"]["stats"]
    assert cand_stats == {"interviewsGiven": 0, "interviewsTaken": 1, "averageRating": None, "noShows": 0}


async def test_points_ledger_privacy_and_admin_adjustments(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock)
    admin = await client.sign_up("admin")
    await set_role(db_session, admin, "ADMIN")
    own = (await client.data(LEDGER, {"id": b.candidate.id}, token=b.candidate.access_token))["user"]
    kinds = [(e["node"]["kind"], e["node"]["amount"]) for e in own["pointsLedger"]["edges"]]
    assert kinds == [("SPEND", -1), ("GRANT", 1)]
    assert own["pointsLedger"]["edges"][0]["node"]["interview"]["id"] == b.interview_id
    for token in (b.host.access_token, None):
        assert (await client.data(LEDGER, {"id": b.candidate.id}, token=token))["user"][
            "pointsLedger"
        ] is None
    by_admin = (await client.data(LEDGER, {"id": b.candidate.id, "first": 1}, token=admin.access_token))[
        "user"
    ]
    assert by_admin["pointsLedger"]["pageInfo"]["hasNextPage"] is True

    args = {"id": b.candidate.id, "amount": 5, "reason": "Conference bonus"}
    assert await client.error_code(ADJUST, args, token=b.host.access_token) == "FORBIDDEN"
    for bad in ({"amount": 0}, {"reason": ""}, {"reason": "   "}, {"reason": "r" * 501}):
        assert await client.error_code(ADJUST, {**args, **bad}, token=admin.access_token) == "BAD_USER_INPUT"
    code = await client.error_code(ADJUST, {**args, "amount": -1}, token=admin.access_token)
    assert code == "INSUFFICIENT_POINTS"  # the balance is 0
    entry = (await client.data(ADJUST, args, token=admin.access_token))["adjustPoints"]
    assert entry == {
        **entry,
        "amount": 5,
        "kind": "ADJUSTMENT",
        "reason": "Conference bonus",
        "balanceAfter": 5,
    }
    taken = (await client.data(ADJUST, {**args, "amount": -2}, token=admin.access_token))["adjustPoints"]
    assert taken["balanceAfter"] == 3
    audit = await db_session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "points.adjusted")
    )
    assert audit == 2
    await assert_ledger_consistent(db_session)


async def test_staff_can_read_but_not_act(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    b = await booked(client, db_session, clock)
    moderator = await client.sign_up("mod")
    await set_role(db_session, moderator, "MODERATOR")
    seen = (await client.data(INTERVIEW, {"id": b.interview_id}, token=moderator.access_token))["interview"]
    assert seen["id"] == b.interview_id
    assert seen["videoLink"]
    assert (
        await client.error_code(CANCEL, {"id": b.interview_id}, token=moderator.access_token) == "FORBIDDEN"
    )
    assert await client.error_code(BOOK_SLOT, {"id": b.slot_id}, token=moderator.access_token) == "CONFLICT"
    slot = await db_session.get(Slot, db_id(b.slot_id), populate_existing=True)
    assert slot is not None
    assert slot.status == "BOOKED"
