"""Per-(instance, method) rate limiting, shared by the clients of an instance.

In a process each bucket is an `aiolimiter.AsyncLimiter` of capacity
`max(2, burst)` that refills at the method's rate: a capacity of 2 absorbs timer
lateness (a call that wakes late lets the next one follow sooner) where a
capacity of 1 loses 1-2 % of the rate. Because that still lets two calls go
back to back, a sliding one-second log then holds back any call that would put
more than the limit into one second, which is how GREEN-API counts. Stores that
share the limiter between processes (SQLite, Redis) book slots in their own
GCRA after the local bucket, since aiolimiter cannot span processes; those
that can (`GatedLimiterStore`) read the breaker in that same round trip.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from typing import Final

from aiolimiter import AsyncLimiter

from ._config import RateLimits
from ._methods import MethodSpec
from ._process import PROCESS
from .stores import SendLog, SharedLimiterStore
from .stores._base import Gate, GatedAdmission, GatedLimiterStore

__all__ = ["Limiter", "Wake"]

Wake = Callable[[], "asyncio.Future[None]"]
"""Returns a future that is done when waiting should stop (a pause began)."""

WINDOW: Final = 1.0  # GREEN-API counts requests per second
# Waits shorter than this are float noise from summing 1/rate steps; sleeping on
# them can spin on a clock that rounds (looptime), so they count as no wait.
_EPSILON: Final = 1e-6


class _Bucket:
    """The token bucket, 429 penalty and recent admissions of one method."""

    __slots__ = ("admitted", "limiter", "not_before")

    def __init__(self, rate: float, burst: int) -> None:
        capacity = max(2, burst)
        self.limiter = AsyncLimiter(capacity, capacity / rate)
        self.not_before = 0.0  # loop time before which nothing starts (a 429)
        self.admitted: deque[float] = deque()  # loop times of recent admissions


# Buckets belong to the instance, not to one client object, and to one event
# loop, because their times are that loop's clock. Kept in `PROCESS.buckets`,
# keyed weakly by the loop so a closed loop takes its buckets with it.
_Key = tuple[str, str, float, int]


def _bucket(loop: asyncio.AbstractEventLoop, key: _Key) -> _Bucket:
    registry = PROCESS.buckets
    buckets: dict[_Key, _Bucket] | None = registry.get(loop)
    if buckets is None:
        buckets = registry[loop] = {}
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = _Bucket(key[2], key[3])
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
        self._gated = store if isinstance(store, GatedLimiterStore) else None

    @property
    def gates_in_store(self) -> bool:
        """True when admissions also read the breaker (one store round trip)."""
        return self._limits.enabled and self._gated is not None

    def _key(self, method: str) -> str:
        return f"{{{self._id}}}:limiter:{method}"

    def _local(self, method: str) -> tuple[asyncio.AbstractEventLoop, _Bucket]:
        loop = asyncio.get_running_loop()
        rate = self._limits.rate_for(method)
        return loop, _bucket(loop, (self._id, method, rate, self._limits.burst))

    async def acquire(
        self, spec: MethodSpec, wake: Wake | None = None, gate: Gate | None = None
    ) -> bool | GatedAdmission:
        """Wait until `method` may be sent without exceeding its rate.

        Returns False when `wake`'s future finished first (a pause began while
        waiting); a caller that leaves (so, or cancelled) takes no capacity.
        With a `gate` and a `GatedLimiterStore`, returns what the store's
        single round trip found when nothing had to wait (or it refused);
        True means the call waited and the breaker must be read again.
        """
        if not self._limits.enabled:
            return True
        method = spec.name
        loop, bucket = self._local(method)
        penalty = bucket.not_before - loop.time()
        if penalty > _EPSILON and not await _nap(penalty, wake):
            return False
        if not await _take(bucket.limiter, wake):
            return False
        rate = self._limits.rate_for(method)
        limit = max(math.ceil(rate), self._limits.burst)
        if not await _wait_for_window(loop, bucket, limit, wake):
            return False
        if self._shared is not None:
            return await self._acquire_shared(self._shared, method, wake, gate)
        return True

    async def _acquire_shared(
        self,
        store: SharedLimiterStore,
        method: str,
        wake: Wake | None,
        gate: Gate | None,
    ) -> bool | GatedAdmission:
        rate = self._limits.rate_for(method)
        margin = 1.0 + self._limits.shared_margin
        # The log's second is stretched by the same margin: what it admits
        # still crosses the network with some jitter before GREEN-API counts it.
        log = SendLog(
            f"{{{self._id}}}:window:{method}",
            max(math.ceil(rate), self._limits.burst),
            WINDOW * margin,
        )
        key, interval, burst = self._key(method), margin / rate, self._limits.burst
        if gate is not None and self._gated is not None:
            found = await self._gated.limiter_admit_gated(
                key, interval=interval, burst=burst, log=log, gate=gate
            )
            if found.refused >= 0 or found.wait <= _EPSILON:
                return found  # one round trip: the breaker was read with it
            wait = found.wait
        else:
            wait = await store.limiter_admit(
                key, interval=interval, burst=burst, log=log
            )
        while wait > _EPSILON:  # one round trip when nothing has to wait
            # A slot booked in the store cannot be handed back to it.
            if not await _nap(wait, wake):
                return False
            wait = await store.limiter_enter(
                log.key, limit=log.limit, window=log.window
            )
        return True

    async def penalize(self, spec: MethodSpec, seconds: float) -> None:
        """Push the method's next slot `seconds` into the future (after a 429)."""
        if not self._limits.enabled:
            return
        method = spec.name
        if self._shared is not None:
            await self._shared.limiter_penalize(self._key(method), seconds=seconds)
            return
        loop, bucket = self._local(method)
        bucket.not_before = max(bucket.not_before, loop.time() + seconds)

    def __repr__(self) -> str:
        state = "enabled" if self._limits.enabled else "disabled"
        return f"<Limiter instance={self._id} {state} burst={self._limits.burst}>"


async def _take(limiter: AsyncLimiter, wake: Wake | None) -> bool:
    """Take one unit of `limiter`; False if `wake` finished first."""
    if wake is None or limiter.has_capacity():
        await limiter.acquire()  # no wait when it has capacity
        return True
    woken = wake()
    if woken.done():
        return False
    taking = asyncio.ensure_future(limiter.acquire())
    try:
        await asyncio.wait((taking, woken), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not taking.done():
            taking.cancel()  # aiolimiter drops a cancelled waiter
    return taking.done() and not taking.cancelled()


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
