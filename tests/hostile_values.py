"""Hypothesis strategies of hostile argument values, by GraphQL input type (read from the schema).

Strings with NUL and lone surrogates, huge/negative/non-integer numbers, global IDs of every shape
(any type name, keys beyond 64 bits or not integers, bad base64), cursors that decode to odd JSON,
DateTimes at the ends of the calendar with extreme offsets, deep and odd lists, and values of the
wrong JSON type everywhere. Send them with `as_json_body` (`\\ud800` escapes, as a browser would).
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from hypothesis import strategies as st

from tests.attack_support import dummy_value, graphql_schema

SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
NASTY_CHARACTERS = [
    *SURROGATES,
    "\x00",
    "\u202e",
    "\ufeff",
    "\uffff",
    "\U0010ffff",
    "\x7f",
    "'",
    '"',
    "\\",
    "%",
]


def as_json_body(payload: object) -> bytes:
    """JSON as clients send it: lone surrogates as `\\ud800` escapes (httpx's `json=` cannot encode them)."""
    return json.dumps(payload).encode()


def _b64(text: str, *, urlsafe: bool = False, padded: bool = True) -> str:
    raw = text.encode("utf-8", "surrogatepass")
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return encoded if padded else encoded.rstrip("=")


texts: st.SearchStrategy[str] = st.one_of(
    st.lists(st.one_of(st.characters(), st.sampled_from(NASTY_CHARACTERS)), max_size=24).map("".join),
    st.tuples(st.text(max_size=8), st.sampled_from([*SURROGATES, "\x00"]), st.text(max_size=8)).map("".join),
    st.sampled_from(["", " ", "x" * 5000, "😀" * 3000, "' OR 1=1 --", "%_\\", "a\ud800b", "a\x00b"]),
)

junk: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

integers: st.SearchStrategy[Any] = st.one_of(
    st.integers(-(2**80), 2**80),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, 2**64, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    junk,
)


@cache
def _type_names() -> list[str]:
    names = [name for name in graphql_schema().type_map if not name.startswith("__")]
    return [*names, "", "Node", "Nope", "user", "User ", " User", "Us\x00er", "Us\ud800er"]


ID_KEYS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        [
            "",
            "abc",
            "1.5",
            "1e3",
            " 1",
            "1 ",
            "+1",
            "0x1",
            "1_000",
            "١٢",
            "1\x00",
            "1\ud800",
            "0",
            "-1",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "0" * 30 + "1",
        ]
    ),
    st.text(max_size=6),
)


def _raw_ids() -> st.SearchStrategy[str]:
    separators = st.sampled_from([":", ":", ":", "::", "", ": ", "\x00"])
    return st.builds(lambda t, s, k: f"{t}{s}{k}", st.sampled_from(_type_names()), separators, ID_KEYS)


@cache
def global_ids() -> st.SearchStrategy[Any]:
    raw = _raw_ids()
    return st.one_of(
        raw.map(_b64),
        raw.map(lambda r: _b64(r, urlsafe=True)),
        raw.map(lambda r: _b64(r, padded=False)),
        raw.map(lambda r: _b64(r) + "\n"),
        raw,
        texts,
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=40),
        st.just("A" * 10_000),
        junk,
    )


def _odd_json() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**80), 2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
        datetime_strings(),
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=2)
        ),
        max_leaves=6,
    )


@cache
def cursors() -> st.SearchStrategy[Any]:
    keyset = st.tuples(st.one_of(datetime_strings(), junk), st.one_of(st.integers(-(2**80), 2**80), junk))
    payloads = st.one_of(
        _odd_json(), st.lists(_odd_json(), min_size=1, max_size=2), keyset.map(list), st.just([2**63])
    )
    encoded = payloads.map(lambda value: json.dumps(value))
    return st.one_of(
        encoded.map(lambda text: _b64(text, urlsafe=True)),
        encoded.map(_b64),
        encoded.map(lambda text: _b64(text, padded=False)),
        st.just(_b64("[" * 5000 + "]" * 5000)),
        texts,
        junk,
    )


_OFFSETS = ["", "Z", "+00:00", "-14:00", "+14:00", "+23:59", "-23:59", "+24:00", "+99:99", "-00:01"]


@cache
def datetime_strings() -> st.SearchStrategy[str]:
    built = st.builds(
        lambda y, mo, d, h, mi, off: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:00{off}",
        st.one_of(st.integers(0, 9999), st.sampled_from([1, 999, 1000, 8999, 9000, 9999])),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 60),
        st.sampled_from(_OFFSETS),
    )
    return st.one_of(
        built,
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        st.sampled_from(
            [
                "9999-12-31T23:59:00-14:00",
                "9999-12-31T23:59:59.999999+00:00",
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T24:00:00Z",
                "2024-02-30T00:00:00Z",
                "2031-01-01T10:00:00",
                "2031-01-01",
                "now",
                "1e30",
            ]
        ),
    )


@cache
def datetimes() -> st.SearchStrategy[Any]:
    return st.one_of(datetime_strings(), junk)


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def hostile_value(name: str, type_: GraphQLInputType) -> st.SearchStrategy[Any]:
    """Hostile values for an argument (or input field) called `name` of GraphQL type `type_`."""
    if isinstance(type_, GraphQLNonNull):
        return hostile_value(name, type_.of_type)
    if isinstance(type_, GraphQLList):
        element = hostile_value(name, type_.of_type)
        good = dummy_value(name, type_.of_type)
        return st.one_of(
            st.lists(element, max_size=4),
            st.integers(2, 300).map(lambda depth: _nested(depth, good)),
            st.just([good] * 1000),
            element,
            junk,
        )
    if isinstance(type_, GraphQLEnumType):
        return st.one_of(st.sampled_from(sorted(type_.values)), texts, junk)
    if isinstance(type_, GraphQLInputObjectType):
        fields = {n: argument_value(n, f.type) for n, f in type_.fields.items()}
        extra = st.dictionaries(
            st.one_of(texts, st.sampled_from(["unknownField", "__typename"])), junk, max_size=2
        )
        objects = st.tuples(st.fixed_dictionaries(fields), extra).map(lambda pair: {**pair[1], **pair[0]})
        return st.one_of(objects, junk)
    assert isinstance(type_, GraphQLScalarType), type_
    if name == "after":
        return cursors()
    by_scalar: dict[str, st.SearchStrategy[Any]] = {
        "ID": global_ids(),
        "String": texts | junk,
        "Int": integers,
        "Float": st.floats(allow_nan=True, allow_infinity=True) | junk,
        "Boolean": junk,
        "DateTime": datetimes(),
    }
    return by_scalar.get(type_.name, junk)


def argument_value(name: str, type_: GraphQLInputType) -> st.SearchStrategy[Any]:
    """A well-typed value (so another argument's hostile value is what gets tested) or a hostile one."""
    return st.one_of(st.just(dummy_value(name, type_)), hostile_value(name, type_))
