"""The one parser of each kind of argument (schema/ids.py, schema/inputs.py), property-tested without
a server: whatever comes in, the result is a value of the promised shape or a coded client error."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from graphql import GraphQLError, parse
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import BadUserInput, NotFound
from app.core.inputs import EARLIEST, LATEST, storable_text
from schema.ids import (
    BIGINT_MAX,
    BIGINT_MIN,
    decode_cursor,
    decode_global_id,
    encode_cursor,
    parse_global_id,
    to_global_id,
)
from schema.inputs import DATETIME, unstorable_input
from tests.hostile_values import cursors, datetimes, global_ids, texts

FAST = settings(max_examples=200, deadline=None, database=None)
T = TypeVar("T")


def outcome(call: Callable[[], T]) -> T | Exception:
    """What `call` returns, or the client error it raises (anything else fails the test)."""
    try:
        return call()
    except (BadUserInput, GraphQLError) as error:
        return error


@FAST
@given(value=global_ids())
def test_global_ids_parse_to_a_bigint_key_or_bad_input(value: Any) -> None:
    result = outcome(lambda: decode_global_id(value))
    if isinstance(result, Exception):
        assert isinstance(result, BadUserInput)
        assert result.extensions == {"code": "BAD_USER_INPUT", "field": "id"}
        return
    type_name, key = result
    assert BIGINT_MIN <= key <= BIGINT_MAX
    assert decode_global_id(to_global_id(type_name, key)) == (type_name, key)


@FAST
@given(key=st.integers(BIGINT_MIN, BIGINT_MAX), type_name=st.sampled_from(["User", "Slot", "ApiKey"]))
def test_global_ids_round_trip(key: int, type_name: str) -> None:
    assert decode_global_id(to_global_id(type_name, key)) == (type_name, key)
    if key > 0:
        assert parse_global_id(to_global_id(type_name, key), type_name) == key
    else:
        with pytest.raises(NotFound):
            parse_global_id(to_global_id(type_name, key), type_name)
    with pytest.raises(BadUserInput) as refused:
        parse_global_id(to_global_id(type_name, key), "Interview", field="interviewId")
    assert refused.value.extensions["field"] == "interviewId"


def test_keys_beyond_bigint_and_non_integers_are_bad_input() -> None:
    for key in ("9223372036854775808", "-9223372036854775809", "abc", "1.5", " 1", "+1", "\u0661", "1_0", ""):
        raw = base64.b64encode(f"User:{key}".encode()).decode()
        with pytest.raises(BadUserInput):
            decode_global_id(raw)


@FAST
@given(cursor=cursors(), shape=st.sampled_from([(int,), (datetime, int)]))
def test_cursors_decode_to_their_shape_or_bad_input(cursor: Any, shape: tuple[type[Any], ...]) -> None:
    values = outcome(lambda: decode_cursor(cursor, shape))
    if isinstance(values, Exception):
        assert isinstance(values, BadUserInput)
        assert values.extensions == {"code": "BAD_USER_INPUT", "field": "after"}
        return
    assert len(values) == len(shape)
    for value, kind in zip(values, shape, strict=True):
        assert type(value) is kind
        if kind is int:
            assert BIGINT_MIN <= value <= BIGINT_MAX
        else:
            assert value.tzinfo is not None
            assert EARLIEST - timedelta(days=1) <= value.astimezone(UTC) <= LATEST + timedelta(days=1)


@FAST
@given(key=st.integers(BIGINT_MIN, BIGINT_MAX), moment=st.datetimes(timezones=st.just(UTC)))
def test_cursors_round_trip(key: int, moment: datetime) -> None:
    assert decode_cursor(encode_cursor(key), (int,)) == (key,)
    if EARLIEST <= moment <= LATEST:
        assert decode_cursor(encode_cursor(moment.isoformat(), key), (datetime, int)) == (moment, key)


@FAST
@given(value=datetimes())
def test_datetime_arguments_are_in_range_with_an_offset_or_a_coded_error(value: Any) -> None:
    parse_value = DATETIME.parse_value
    assert parse_value is not None
    parsed = outcome(lambda: parse_value(value))
    if isinstance(parsed, Exception):
        assert isinstance(parsed, GraphQLError)
        assert parsed.extensions == {"code": "BAD_USER_INPUT"}
        return
    assert isinstance(parsed, datetime)
    assert parsed.utcoffset() is not None
    in_utc = parsed.astimezone(UTC)  # never overflows
    assert in_utc + timedelta(days=365) > in_utc - timedelta(days=365)


@FAST
@given(value=texts)
def test_unstorable_text_is_found_at_any_depth(value: str) -> None:
    variables = {"input": {"list": [[{"deep": value}]]}}
    found, owner = unstorable_input(variables, None, None)
    assert found is (not storable_text(value))
    if found:
        assert owner == "deep"
    storable = storable_text(value)
    assert storable == ("\x00" not in value and all(not 0xD800 <= ord(c) <= 0xDFFF for c in value))
    if storable:
        value.encode()  # what PostgreSQL and the JSON encoder need
    assert json.dumps(variables)  # the generated values are sendable


def test_unstorable_literals_are_found_with_their_argument() -> None:
    query = 'query($v: String = "x\\u0000") { user(id: "a\\u0000") { id } }'
    assert unstorable_input({}, query, parse(query)) == (True, "v")
    query = 'query { user(id: "a\\u{0}") { id } }'
    assert unstorable_input({}, query, parse(query)) == (True, "id")
    query = 'mutation($e: String!) { logIn(input: {email: $e, password: "p"}) { accessToken } }'
    assert unstorable_input({"e": "\ud800"}, query, parse(query)) == (True, "email")
    assert unstorable_input({"e": "fine"}, query, parse(query)) == (False, None)
