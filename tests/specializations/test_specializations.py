"""Managing specializations: rename, archive, restore (docs/product.md, rule 5 and "Roles")."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from tests.helpers import GraphQLClient
from tests.marketplace_support import (
    CREATE_SLOT,
    book,
    new_specialization,
    publish,
    set_role,
    slot_input,
    tomorrow,
)

UPDATE = """mutation($id: ID!, $name: String, $archived: Boolean) {
  updateSpecialization(id: $id, name: $name, archived: $archived) { id name isArchived archivedAt } }"""
LIST = "query($all: Boolean) { specializations(includeArchived: $all) { id name isArchived } }"
SLOT_TOPIC = "query($id: ID!) { node(id: $id) { ... on Slot { specialization { id name isArchived } } } }"


async def test_admins_rename_and_names_stay_unique(client: GraphQLClient, db_session: AsyncSession) -> None:
    admin, moderator = await client.sign_up("admin"), await client.sign_up("mod")
    await set_role(db_session, admin, "ADMIN")
    await set_role(db_session, moderator, "MODERATOR")
    spec, other = await new_specialization(db_session), await new_specialization(db_session)
    assert (
        await client.error_code(UPDATE, {"id": spec, "name": "Go"}, token=moderator.access_token)
        == "FORBIDDEN"
    )
    renamed = (await client.data(UPDATE, {"id": spec, "name": "  Go  "}, token=admin.access_token))[
        "updateSpecialization"
    ]
    assert renamed["name"] == "Go"
    assert renamed["isArchived"] is False
    result = await client.execute(UPDATE, {"id": other, "name": "go"}, token=admin.access_token)
    assert result["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "name"}
    for bad in ("", "x" * 81):
        assert (
            await client.error_code(UPDATE, {"id": spec, "name": bad}, token=admin.access_token)
            == "BAD_USER_INPUT"
        )
    missing = "U3BlY2lhbGl6YXRpb246OTk5OTk5OQ=="  # Specialization:9999999
    assert (
        await client.error_code(UPDATE, {"id": missing, "name": "X"}, token=admin.access_token) == "NOT_FOUND"
    )


async def test_archived_specializations_take_no_new_slots_but_keep_their_history(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    admin, host, candidate = [await client.sign_up(n) for n in ("admin", "host", "cand")]
    await set_role(db_session, admin, "ADMIN")
    spec = await new_specialization(db_session)
    slot = await publish(client, host, spec, tomorrow(clock))
    interview = (await book(client, candidate, slot))["id"]

    archived = (await client.data(UPDATE, {"id": spec, "archived": True}, token=admin.access_token))[
        "updateSpecialization"
    ]
    assert archived["isArchived"] is True
    assert archived["archivedAt"]
    result = await client.execute(
        CREATE_SLOT, {"input": slot_input(spec, tomorrow(clock, 3))}, token=host.access_token
    )
    assert result["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "specializationId"}
    assert spec not in {s["id"] for s in (await client.data(LIST))["specializations"]}
    assert spec in {s["id"] for s in (await client.data(LIST, {"all": True}))["specializations"]}
    topic = (await client.data(SLOT_TOPIC, {"id": slot}))["node"]["specialization"]
    assert topic == {"id": spec, "name": archived["name"], "isArchived": True}  # history still resolves
    seen = "query($id: ID!) { interview(id: $id) { specialization { id } } }"
    assert (await client.data(seen, {"id": interview}, token=candidate.access_token))["interview"]

    restored = await client.data(UPDATE, {"id": spec, "archived": False}, token=admin.access_token)
    assert restored["updateSpecialization"]["isArchived"] is False
    await publish(client, host, spec, tomorrow(clock, 3))
