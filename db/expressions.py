"""SQL expressions shared by statement builders that also run with bound parameters in place of
values (schema/compiled/pages.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, Text, literal
from sqlalchemy.sql.elements import ColumnElement


def text_array(values: Any) -> ColumnElement[Any]:
    """A list of strings as one `text[]` value (for `column = ANY(...)`), or the parameter given."""
    if isinstance(values, ColumnElement):
        return values
    return literal(list(values), ARRAY(Text()))
