"""Shared queries and helpers for the matching queue tests."""

from __future__ import annotations

from typing import Any

from tests.helpers import GraphQLClient, Member

TICKET_FIELDS = """id status role language level durationMinutes createdAt expiresAt matchedAt position
  estimatedWaitSeconds specialization { id }
  match { matchedAt partner { id } specialization { id }
          interviews { id status startsAt endsAt videoLink interviewer { id } candidate { id } } }"""
JOIN = f"""mutation($input: JoinMatchQueueInput!) {{ joinMatchQueue(input: $input) {{ {TICKET_FIELDS} }} }}"""
LEAVE = "mutation { leaveMatchQueue }"
TICKET = f"query {{ matchTicket {{ {TICKET_FIELDS} }} }}"
MATCH_FOUND = """subscription { matchFound { matchedAt partner { id } specialization { id }
  interviews { id startsAt interviewer { id } candidate { id } } } }"""
NOTIFICATIONS = "query { notifications(first: 20) { edges { node { kind payload } } } }"


def join_input(spec: str, role: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"specializationId": spec, "role": role, "durationMinutes": 30}
    values.update(extra)
    return values


async def join(client: GraphQLClient, member: Member, spec: str, role: str, **extra: Any) -> dict[str, Any]:
    data = await client.data(JOIN, {"input": join_input(spec, role, **extra)}, token=member.access_token)
    ticket: dict[str, Any] = data["joinMatchQueue"]
    return ticket


async def ticket(client: GraphQLClient, member: Member) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await client.data(TICKET, token=member.access_token))["matchTicket"]
    return found


async def kinds(client: GraphQLClient, member: Member) -> list[str]:
    data = await client.data(NOTIFICATIONS, token=member.access_token)
    return [edge["node"]["kind"] for edge in data["notifications"]["edges"]]
