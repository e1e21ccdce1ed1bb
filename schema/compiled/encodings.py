"""SQL forms of the values Python serialises, each equal to its Python form (tests/execution checks
them over many values): `datetime.isoformat()`, Strawberry's GlobalID and `schema.ids.encode_cursor`."""

from __future__ import annotations


def iso(column: str) -> str:
    """`datetime.isoformat()` of a timestamptz as Python prints it for UTC (microseconds only when
    non-zero, '+00:00')."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || '+00:00' END"
    )


def node_id(type_name: str, column: str) -> str:
    """`GlobalID(type_name, id)` as Strawberry serialises it: standard base64 of 'Type:id'."""
    return f"translate(encode(convert_to('{type_name}:' || {column}, 'UTF8'), 'base64'), E'\\n', '')"


def cursor(parts: list[tuple[str, bool]]) -> str:
    """`encode_cursor(*values)`: urlsafe base64 of the compact JSON array of the values; each part is
    (SQL expression, is a timestamp written with `isoformat()`)."""
    items = " || ',' || ".join(
        f"to_json({iso(sql)})::text" if is_time else f"{sql}::text" for sql, is_time in parts
    )
    return f"translate(encode(convert_to('[' || {items} || ']', 'UTF8'), 'base64'), E'+/\\n', '-_')"
