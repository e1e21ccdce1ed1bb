"""Fixtures of the compiled-read tests."""

from __future__ import annotations

from typing import Any

import pytest

from db.session import Db


@pytest.fixture
def fetch_raw_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts statements that took the compiled path (the database is real; this only observes)."""
    calls: list[str] = []
    original = Db.fetch_raw

    async def counted(self: Db, sql: str, *params: Any) -> list[Any]:
        if " AS n0" in sql:  # a compiled read (the viewer lookup uses fetch_raw too)
            calls.append(sql)
        return await original(self, sql, *params)

    monkeypatch.setattr(Db, "fetch_raw", counted)
    return calls
