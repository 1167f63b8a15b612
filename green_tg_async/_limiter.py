"""Per-(instance, method) rate limiting, shared by the clients of an instance.

Each bucket schedules calls on absolute slot times (GCRA: one "theoretical
arrival time" advanced by 1/rate per call), so a task that wakes late does not
push every later slot back: plain "sleep 1/rate after the last call" spacing
loses 1-2 % of the rate to timer lateness. Because late wake-ups can still bunch
calls together, a sliding one-second log then holds back any call that would
put more than the limit into one second, which is how GREEN-API counts.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque
from typing import Final

from ._config import RateLimits
from .stores import SendLog, SharedLimiterStore

__all__ = ["Limiter"]

WINDOW: Final = 1.0  # GREEN-API counts requests per second
# Waits shorter than this are float noise from summing 1/rate steps; sleeping on
# them can spin on a clock that rounds (looptime), so they count as no wait.
_EPSILON: Final = 1e-6


class _Bucket:
    """Slot schedule and recent admissions of one (instance, method)."""

    __slots__ = ("admitted", "tat")

    def __init__(self) -> None:
        self.tat = 0.0  # loop time at which the next unreserved slot starts
        self.admitted: deque[float] = deque()  # loop times of recent admissions


# Buckets belong to the instance, not to one client object, and to one event
# loop, because their times are that loop's clock. Keyed weakly by the loop so
# a closed loop takes its buckets with it.
_REGISTRY: Final[
    weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], _Bucket]]
] = weakref.WeakKeyDictionary()


def _bucket(loop: asyncio.AbstractEventLoop, key: tuple[str, str]) -> _Bucket:
    buckets = _REGISTRY.get(loop)
    if buckets is None:
        buckets = _REGISTRY[loop] = {}
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = _Bucket()
    return bucket


class Limiter:
    """Admit calls of one instance at the rates `RateLimits` gives each method.

    The buckets live in this process. With a `SharedLimiterStore` (SQLite,
    Redis) a call that passes its local bucket then books a slot in the store,
    so every process sharing it stays within one rate. Pacing locally first
    means a process with many queued calls asks the store about one call per
    slot, rather than all at once, which would also delay its own sends.
    """

    def __init__(
        self, id_instance: str, limits: RateLimits, store: object = None
    ) -> None:
        self._id = id_instance
        self._limits = limits
        self._shared = store if isinstance(store, SharedLimiterStore) else None

    def _key(self, method: str) -> str:
        return f"{{{self._id}}}:limiter:{method}"

    async def acquire(self, method: str) -> None:
        """Wait until `method` may be sent without exceeding its rate."""
        if not self._limits.enabled:
            return
        loop = asyncio.get_running_loop()
        bucket = _bucket(loop, (self._id, method))
        rate = self._limits.rate_for(method)
        await self._wait_for_slot(loop, bucket, 1.0 / rate)
        limit = max(math.ceil(rate), self._limits.burst)
        await _wait_for_window(loop, bucket, limit)
        if self._shared is not None:
            await self._acquire_shared(self._shared, method)

    async def _acquire_shared(self, store: SharedLimiterStore, method: str) -> None:
        rate = self._limits.rate_for(method)
        margin = 1.0 + self._limits.shared_margin
        # The log's second is stretched by the same margin: what it admits
        # still crosses the network with some jitter before GREEN-API counts it.
        log = SendLog(
            f"{{{self._id}}}:window:{method}",
            max(math.ceil(rate), self._limits.burst),
            WINDOW * margin,
        )
        wait = await store.limiter_admit(
            self._key(method), interval=margin / rate, burst=self._limits.burst, log=log
        )
        while wait > _EPSILON:  # one round trip when nothing has to wait
            await asyncio.sleep(wait)
            wait = await store.limiter_enter(
                log.key, limit=log.limit, window=log.window
            )

    async def _wait_for_slot(
        self, loop: asyncio.AbstractEventLoop, bucket: _Bucket, interval: float
    ) -> None:
        now = loop.time()
        tolerance = (self._limits.burst - 1) * interval
        start = max(now, bucket.tat - tolerance)
        bucket.tat = reserved = max(bucket.tat, now) + interval
        if start - now <= _EPSILON:
            return
        try:
            await asyncio.sleep(start - now)
        except asyncio.CancelledError:
            if bucket.tat == reserved:  # nobody queued behind us: give it back
                bucket.tat -= interval
            raise

    async def penalize(self, method: str, seconds: float) -> None:
        """Push `method`'s next slot `seconds` into the future (after a 429)."""
        if not self._limits.enabled:
            return
        if self._shared is not None:
            await self._shared.limiter_penalize(self._key(method), seconds=seconds)
            return
        loop = asyncio.get_running_loop()
        bucket = _bucket(loop, (self._id, method))
        bucket.tat = max(bucket.tat, loop.time() + seconds)

    def __repr__(self) -> str:
        state = "enabled" if self._limits.enabled else "disabled"
        return f"<Limiter instance={self._id} {state} burst={self._limits.burst}>"


async def _wait_for_window(
    loop: asyncio.AbstractEventLoop, bucket: _Bucket, limit: int
) -> None:
    admitted = bucket.admitted
    while len(admitted) >= limit:
        wait = admitted[-limit] + WINDOW - loop.time()
        if wait <= _EPSILON:
            break
        await asyncio.sleep(wait)
    admitted.append(loop.time())
    while len(admitted) > limit:
        admitted.popleft()
