"""Fail-open mode logs each transition once, and never claims a write it did not do."""

from __future__ import annotations

import logging

import pytest

from green_tg_async import StoreUnavailableError
from green_tg_async.stores import BreakerRecord
from green_tg_async.stores._fallback import LocalFallback, fails_open


class _Store:
    """Just enough of a shared store for the fail-open wrapper."""

    def __init__(self) -> None:
        self._fallback: LocalFallback | None = LocalFallback(0.5)
        self.down = False
        self.opened: list[str] = []

    @fails_open
    async def breaker_get(self, key: str) -> BreakerRecord | None:
        if self.down:
            raise StoreUnavailableError("down (test)")
        return None

    @fails_open
    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        if self.down:
            raise StoreUnavailableError("down (test)")
        self.opened.append(key)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


async def test_issue11_a_down_store_is_not_reported_back_until_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _Store()
    caplog.set_level(logging.WARNING, logger="green_tg_async")
    store.down = True
    for _ in range(3):
        assert await store.breaker_get("k") is None  # local answer
    assert not any("answers again" in m for m in _messages(caplog))
    assert sum("continuing locally" in m for m in _messages(caplog)) == 1

    await store.breaker_open("k", until=2e9, reason="469")  # kept locally
    store.down = False
    await store.breaker_get("k")
    await store.breaker_get("k")
    back = [m for m in _messages(caplog) if "answers again" in m]
    assert back == ["state store answers again; 1 pause(s) kept locally written back"]
    assert store.opened == ["k"]
