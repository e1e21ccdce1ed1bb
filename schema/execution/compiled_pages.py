"""Page statements of the compiled hot lists (schema/compiled_reads.py): the same filters, order and
LIMIT as `booking.my_interviews` and `slots.open_slots`, with the node JSON columns the schema layer
compiled. tests/test_compiled_reads.py checks both paths return the same pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.core.enums import SlotStatus
from schema.execution.sql_projection import Query


def _columns(nodes: list[str]) -> str:
    return "".join(f", ({node})::text AS n{i}" for i, node in enumerate(nodes))


def my_interviews_sql(
    query: Query,
    nodes: list[str],
    *,
    viewer_id: int,
    statuses: Sequence[str] | None,
    include_archived: bool,
    after: tuple[datetime, int] | None,
    limit: int,
) -> str:
    viewer = query.param(viewer_id, "bigint")
    if include_archived:
        where = [f"(p.interviewer_id = {viewer} OR p.candidate_id = {viewer})"]
    else:
        where = [
            f"((p.interviewer_id = {viewer} AND NOT p.archived_by_interviewer) "
            f"OR (p.candidate_id = {viewer} AND NOT p.archived_by_candidate))"
        ]
    if statuses:
        where.append(f"p.status = ANY({query.param(list(statuses), 'text[]')})")
    if after is not None:
        starts, key = query.param(after[0], "timestamptz"), query.param(after[1], "bigint")
        where.append(f"(p.starts_at, p.id) < ({starts}, {key})")
    return (
        f"SELECT p.id, p.starts_at{_columns(nodes)} FROM interviews p WHERE {' AND '.join(where)} "
        f"ORDER BY p.starts_at DESC, p.id DESC LIMIT {query.param(limit, 'bigint')}"
    )


def open_slots_sql(
    query: Query,
    nodes: list[str],
    *,
    lower: datetime,
    upper: datetime | None,
    specialization_id: int | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> str:
    where = [f"p.status = '{SlotStatus.OPEN.value}'", f"p.starts_at > {query.param(lower, 'timestamptz')}"]
    if upper is not None:
        where.append(f"p.starts_at < {query.param(upper, 'timestamptz')}")
    if specialization_id is not None:
        where.append(f"p.specialization_id = {query.param(specialization_id, 'bigint')}")
    if after is not None:
        starts, key = query.param(after[0], "timestamptz"), query.param(after[1], "bigint")
        where.append(f"(p.starts_at, p.id) > ({starts}, {key})")
    return (
        f"SELECT p.id, p.starts_at{_columns(nodes)} FROM slots p WHERE {' AND '.join(where)} "
        f"ORDER BY p.starts_at, p.id LIMIT {query.param(limit, 'bigint')}"
    )
