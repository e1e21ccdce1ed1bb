"""Blocked members get no deliveries outside the app: none are planned while the block lasts, and
those queued before it are dropped when their turn comes. In-app notifications stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Notification
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, db_id
from tests.notifications.delivery_support import running_workers, settled, webhook_receiver, worker_services
from tests.notifications.test_job_queue import add_webhook, move_points

BLOCK = "UPDATE users SET blocked_at = :now, blocked_until = :until WHERE id = :id"


async def test_blocked_members_get_no_deliveries(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, database_url: str
) -> None:
    async with webhook_receiver() as (url, receiver):
        member = await committing_client.sign_up("blocked")
        await add_webhook(committing_client, member, url, receiver)
        services = worker_services(app_state, engine)
        await move_points(services, member, 1)  # queued before the block
        now = app_state.clock.now()
        async with engine.begin() as conn:
            await conn.execute(
                text(BLOCK), {"now": now, "until": now + timedelta(days=1), "id": db_id(member.id)}
            )
        await move_points(services, member, 2)  # while blocked: stored in-app, not delivered
        async with running_workers(services, database_url):
            [row] = await settled(engine, 1)
        assert (row.status, row.last_error) == ("FAILED", "member is blocked")
        assert receiver.received == []
        async with engine.connect() as conn:
            stored = (await conn.execute(select(func.count()).select_from(Notification))).scalar_one()
        assert stored == 3
        async with engine.begin() as conn:  # the block ended: deliveries again
            await conn.execute(text(BLOCK), {"now": now, "until": now, "id": db_id(member.id)})
        await move_points(services, member, 1)
        async with running_workers(services, database_url):
            rows = await settled(engine, 2)
        assert [r.status for r in rows] == ["FAILED", "SENT"]
        assert len(receiver.received) == 1
