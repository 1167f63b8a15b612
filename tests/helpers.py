"""Shared test constants and fakes: credentials, an injected clock, a recording sleep."""

from __future__ import annotations

from typing import Any

from green_tg_async import AsyncGreenTelegram, BreakerPolicy, RateLimits, RetryPolicy
from green_tg_async.stores import MemoryStore

ID_INSTANCE = "4100000001"
API_TOKEN = "S3cr3tT0kenForTests0123456789abcdefABCDEF"
HOST = "https://4100.api.green-api.com"
PREFIX = f"{HOST}/waInstance{ID_INSTANCE}"
T0 = 1_800_000_000.0  # an epoch second in 2027


class FakeClock:
    """Wall clock the breaker reads; tests move it by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """Retry sleep that returns at once and remembers each delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(
    *,
    clock: FakeClock | None = None,
    sleep: RecordingSleep | None = None,
    store: MemoryStore | None = None,
    limits: RateLimits | None = None,
    breaker: BreakerPolicy | None = None,
    **options: Any,
) -> AsyncGreenTelegram:
    """A client with an isolated store, fake time and no limiter unless asked."""
    policy = breaker or BreakerPolicy(clock=clock or FakeClock())
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        limits=limits or RateLimits(enabled=False),
        breaker=policy,
        retry=RetryPolicy(sleep=sleep or RecordingSleep()),
        store=store or MemoryStore(),
        **options,
    )
