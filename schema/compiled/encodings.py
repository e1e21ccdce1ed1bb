"""SQL forms of the values Python serialises, each equal to its Python form (tests/execution checks
them over many values): `datetime.isoformat()`, Strawberry's GlobalID and `schema.ids.encode_cursor`."""

from __future__ import annotations


def iso(column: str) -> str:
    """`datetime.isoformat()` of a timestamptz as Python prints it for UTC (microseconds only when
    non-zero, '+00:00')."""
    # '.000000' can only be the fraction (the rest is digits, '-', 'T' and ':'); NULL stays NULL.
    text = f"to_char(({column} AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return f"(replace({text}, '.000000', '') || '+00:00')"


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
