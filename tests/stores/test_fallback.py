"""Fail-open mode logs each transition once, and never claims a write it did not do."""

from __future__ import annotations

import logging

import pytest

from green_tg_async import StoreUnavailableError
from green_tg_async.stores import BreakerRecord
from green_tg_async.stores._fallback import LocalFallback, fails_open
from tests.helpers import FakeClock


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
    clock = FakeClock(0.0)
    store._fallback = LocalFallback(0.5, probe_interval=1.0, clock=clock)
    caplog.set_level(logging.WARNING, logger="green_tg_async")
    store.down = True
    for _ in range(3):
        clock.advance(1.0)  # each call probes the store
        assert await store.breaker_get("k") is None  # local answer
    assert not any("answers again" in m for m in _messages(caplog))
    assert sum("continuing locally" in m for m in _messages(caplog)) == 1

    await store.breaker_open("k", until=2e9, reason="469")  # kept locally
    store.down = False
    clock.advance(1.0)
    await store.breaker_get("k")
    await store.breaker_get("k")
    back = [m for m in _messages(caplog) if "answers again" in m]
    assert back == ["state store answers again; 1 pause(s) kept locally written back"]
    assert store.opened == ["k"]


class _CountingStore(_Store):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._fallback = LocalFallback(0.5, probe_interval=5.0, clock=clock)
        self.attempts = 0

    @fails_open
    async def breaker_get(self, key: str) -> BreakerRecord | None:
        self.attempts += 1
        if self.down:
            raise StoreUnavailableError("timed out (test)")
        return None


async def test_issue11_a_hung_store_costs_one_timeout_per_probe_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(0.0)
    store = _CountingStore(clock)
    caplog.set_level(logging.WARNING, logger="green_tg_async")
    store.down = True
    for _ in range(20):  # calls in the first 5 s: one reaches the store
        await store.breaker_get("k")
        clock.advance(0.2)
    assert store.attempts == 1
    clock.advance(1.0)  # past the interval: the next call probes once
    await store.breaker_get("k")
    await store.breaker_get("k")
    assert store.attempts == 2
    store.down = False
    clock.advance(5.0)
    await store.breaker_get("k")
    assert store.attempts == 3
    messages = _messages(caplog)
    assert sum("continuing locally" in m for m in messages) == 1
    assert sum("answers again" in m for m in messages) == 1


def test_issue11_the_probe_interval_is_checked() -> None:
    with pytest.raises(ValueError, match="probe_interval"):
        LocalFallback(0.5, probe_interval=0)
