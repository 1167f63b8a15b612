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
import heapq
import math
import weakref
from collections import deque
from collections.abc import Callable
from typing import Final

from ._config import RateLimits
from .stores import SendLog, SharedLimiterStore

__all__ = ["Limiter", "Wake"]

Wake = Callable[[], "asyncio.Future[None]"]
"""Returns a future that is done when waiting should stop (a pause began)."""

WINDOW: Final = 1.0  # GREEN-API counts requests per second
# Waits shorter than this are float noise from summing 1/rate steps; sleeping on
# them can spin on a clock that rounds (looptime), so they count as no wait.
_EPSILON: Final = 1e-6


class _Bucket:
    """Slot schedule and recent admissions of one (instance, method)."""

    __slots__ = ("admitted", "freed", "tat")

    def __init__(self) -> None:
        self.tat = 0.0  # loop time at which the next unreserved slot starts
        self.admitted: deque[float] = deque()  # loop times of recent admissions
        # Slots reserved by waiters that left (cancelled, or woken by a
        # pause) while callers behind them kept theirs; a min-heap of start
        # times, handed to the next callers so one leaver delays nobody.
        self.freed: list[float] = []


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

    async def acquire(self, method: str, wake: Wake | None = None) -> bool:
        """Wait until `method` may be sent without exceeding its rate.

        Returns False, without taking a slot, when `wake`'s future finished
        first (a pause began while waiting).
        """
        if not self._limits.enabled:
            return True
        loop = asyncio.get_running_loop()
        bucket = _bucket(loop, (self._id, method))
        rate = self._limits.rate_for(method)
        if not await self._wait_for_slot(loop, bucket, 1.0 / rate, wake):
            return False
        limit = max(math.ceil(rate), self._limits.burst)
        if not await _wait_for_window(loop, bucket, limit, wake):
            return False
        if self._shared is not None:
            return await self._acquire_shared(self._shared, method, wake)
        return True

    async def _acquire_shared(
        self, store: SharedLimiterStore, method: str, wake: Wake | None
    ) -> bool:
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
            # A slot booked in the store cannot be handed back to it.
            if not await _nap(wait, wake):
                return False
            wait = await store.limiter_enter(
                log.key, limit=log.limit, window=log.window
            )
        return True

    async def _wait_for_slot(
        self,
        loop: asyncio.AbstractEventLoop,
        bucket: _Bucket,
        interval: float,
        wake: Wake | None,
    ) -> bool:
        now = loop.time()
        tolerance = (self._limits.burst - 1) * interval
        start = max(now, bucket.tat - tolerance)
        freed = bucket.freed
        while freed and freed[0] < now - _EPSILON:
            heapq.heappop(freed)  # its time passed unused
        reserved = None
        if freed and freed[0] < start:
            start = heapq.heappop(freed)  # a leaver's slot, on the same grid
        else:
            bucket.tat = reserved = max(bucket.tat, now) + interval
        if start - now <= _EPSILON:
            return True
        try:
            if await _nap(start - now, wake):
                return True
        except asyncio.CancelledError:
            _give_back(bucket, start, reserved, interval)
            raise
        _give_back(bucket, start, reserved, interval)
        return False

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


def _give_back(
    bucket: _Bucket, start: float, reserved: float | None, interval: float
) -> None:
    """Return the slot starting at `start` of a waiter that left."""
    if reserved is not None and bucket.tat == reserved:
        bucket.tat -= interval  # nobody queued behind it: just step back
    else:
        heapq.heappush(bucket.freed, start)


async def _wait_for_window(
    loop: asyncio.AbstractEventLoop, bucket: _Bucket, limit: int, wake: Wake | None
) -> bool:
    admitted = bucket.admitted
    while len(admitted) >= limit:
        wait = admitted[-limit] + WINDOW - loop.time()
        if wait <= _EPSILON:
            break
        if not await _nap(wait, wake):
            return False
    admitted.append(loop.time())
    while len(admitted) > limit:
        admitted.popleft()
    return True


async def _nap(seconds: float, wake: Wake | None) -> bool:
    """Sleep `seconds`; False as soon as `wake`'s future is done instead."""
    if wake is None:
        await asyncio.sleep(seconds)
        return True
    woken = wake()
    if woken.done():
        return False
    try:
        async with asyncio.timeout(seconds):
            await asyncio.shield(woken)  # shared by every waiter: never cancel it
    except TimeoutError:
        return True
    return False
