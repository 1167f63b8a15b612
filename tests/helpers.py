"""Test constants and fakes: credentials, an injected clock, a recording sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import looptime

from green_tg_async import AsyncGreenTelegram, BreakerPolicy, RateLimits, RetryPolicy
from green_tg_async._methods import METHODS, MethodSpec
from green_tg_async.hooks import CallEvent
from green_tg_async.stores import MemoryStore, StateStore

ID_INSTANCE = "4100000001"
API_TOKEN = "S3cr3tT0kenForTests0123456789abcdefABCDEF"
HOST = "https://4100.api.green-api.com"
PREFIX = f"{HOST}/waInstance{ID_INSTANCE}"
T = TypeVar("T")
T0 = 1_800_000_000.0  # an epoch second in 2027


def spec(name: str) -> MethodSpec:
    """The table row of `name`, or a made-up write method for test-only names."""
    return METHODS.get(name) or MethodSpec(name, "POST", idempotent=False)


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


class ClockSleep(RecordingSleep):
    """A recording sleep that moves a fake wall clock by each delay."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        await super().__call__(seconds)
        self.clock.advance(seconds)


def make_client(
    *,
    clock: FakeClock | None = None,
    sleep: RecordingSleep | None = None,
    store: StateStore | None = None,
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


class _MovingClockLoop(looptime.make_event_loop_class(asyncio.SelectorEventLoop)):  # type: ignore[misc]
    """A looptime loop whose clock moves by 1 ps each time it is read.

    aiolimiter re-arms a timer at "now" when float error leaves a sliver of
    its bucket level; on a clock that never moves while tasks are ready, that
    timer fires for ever. Real clocks always move, so this one does too, by
    far less than any test measures (1e-12 s per reading, reset every tick).
    """

    _tick = -1.0
    _reads = 0

    def time(self) -> float:
        now = float(super().time())
        if now != self._tick:
            self._tick, self._reads = now, 0
        self._reads += 1
        return now + self._reads * 1e-12


def run_in_fake_time(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on a looptime loop: sleeps take no real time, I/O is instant.

    Loop time starts at 0 and only moves when every task is waiting (and by
    1 ps per reading, see `_MovingClockLoop`).
    """
    loop: asyncio.AbstractEventLoop = _MovingClockLoop()
    loop.setup_looptime(start=0.0)  # type: ignore[attr-defined]
    try:
        return loop.run_until_complete(main)
    finally:
        loop.run_until_complete(_cancel_leftovers())
        loop.close()


async def _cancel_leftovers() -> None:
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most events inside any half-open interval of `window` seconds.

    Differences within 1 µs of `window` count as a full window (float noise).
    """
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window - 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


def bot_client(
    fake: Any, sleep: Callable[[float], Awaitable[None]], **options: Any
) -> AsyncGreenTelegram:
    """A client of a `FakeGreenAPI`: no limiter, its own store, `sleep` for retries."""
    options.setdefault("store", MemoryStore())
    return fake.client(  # type: ignore[no-any-return]
        limits=RateLimits(enabled=False), retry=RetryPolicy(sleep=sleep), **options
    )


class ResponseErrors:
    """A hook that records the error class each attempt ended with (None: none)."""

    def __init__(self) -> None:
        self.errors: list[str | None] = []

    def on_response(self, event: CallEvent) -> None:
        self.errors.append(event.error)
