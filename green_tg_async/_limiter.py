"""Per-(instance, method) rate limiting, shared by the clients of an instance.

In a process each bucket is an `aiolimiter.AsyncLimiter` of capacity
`max(2, burst)` that refills at the method's rate: a capacity of 2 absorbs timer
lateness (a call that wakes late lets the next one follow sooner) where a
capacity of 1 loses 1-2 % of the rate. With `burst=1` calls are further kept
on a schedule one interval apart: a call that woke late does not push the
schedule back, so the next may follow up to a quarter interval sooner.

A bucket belongs to the (instance, method): clients of one instance that ask
for different rates share it at the stricter rate, said once at WARNING.

A sliding one-second log then holds back any call that would put more than
the limit into one second, which is how GREEN-API counts, and it counts what
the server sees: an admitted call stays in the log as "now" until `done()` is
told its answer arrived, and is then logged at that time. The server read
the request between its admission and its answer, so no one-second window of
arrival times at the server holds more than the limit, whatever the jitter
(a new connection, a late wake-up).
The cost is one round trip per `limit` calls at saturation: `limit / (1 + rtt)`
calls per second (0.99x the limit at a 10 ms round trip).

Stores that share the limiter between processes (SQLite, Redis) book slots in
their own GCRA after the local bucket, since aiolimiter cannot span
processes, and read the breaker in that same round trip. Pacing locally first
means a process with many queued calls asks the store about one call per
slot, rather than all at once, which would also delay its own sends.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiolimiter import AsyncLimiter

from ._config import RateLimits
from ._exceptions import StoreUnavailableError
from ._logging import logger
from ._methods import MethodSpec
from ._process import PROCESS
from .stores import SendLog, SharedLimiterStore
from .stores._base import SLOT_POLL, Gate, GatedAdmission, PaceRecord

__all__ = ["Limiter", "Wake"]

Wake = Callable[[], "asyncio.Future[None]"]
"""Returns a future that is done when waiting should stop (a pause began)."""

WINDOW: Final = 1.0  # GREEN-API counts requests per second
# Waits shorter than this are float noise from summing 1/rate steps; sleeping on
# them can spin on a clock that rounds (looptime), so they count as no wait.
_EPSILON: Final = 1e-6
_DRAIN_SECONDS: Final = 2.0
# An answered shared send waits this long for a booking to ride on.
_SETTLE_DELAY: Final = 0.02
# The shared send this task's current attempt holds, until `done()` logs it.
_HELD: contextvars.ContextVar[SendLog | None] = contextvars.ContextVar(
    "green_tg_held_send", default=None
)


# With burst=1, how late (in intervals) a call may be admitted after its slot
# and still keep the schedule; later than that, the schedule starts again.
_LATE: Final = 0.25


@dataclass(slots=True, eq=False)
class _Bucket:
    """The token bucket, 429 penalty and recent admissions of one method."""

    rate: float
    burst: int
    limiter: AsyncLimiter = field(init=False)
    not_before: float = 0.0  # loop time before which nothing starts (a 429)
    # Loop times of recent admissions whose answer arrived (or that ended
    # unsent), oldest first.
    admitted: deque[float] = field(default_factory=deque)
    pending: int = 0  # admitted, answer not yet arrived: "now" in the log
    settled: asyncio.Future[None] | None = None  # done when one settles
    next_at: float = -math.inf  # with burst=1: the loop time of the next slot
    warned: bool = False

    def __post_init__(self) -> None:
        capacity = max(2, self.burst)
        self.limiter = AsyncLimiter(capacity, capacity / self.rate)

    @property
    def limit(self) -> int:
        """Admissions allowed in any one second."""
        return max(math.ceil(self.rate), self.burst)

    def ask(self, rate: float, burst: int, where: str) -> None:
        """Another client asks for `rate` and `burst`: the stricter holds."""
        if (rate, burst) == (self.rate, self.burst):
            return
        if not self.warned:
            self.warned = True
            asks = (
                f"{self.rate:g}/s (burst {self.burst}) and {rate:g}/s (burst {burst})"
            )
            logger.warning(
                "%s: clients of one instance ask %s; the stricter holds for both",
                where,
                asks,
            )
        if rate < self.rate or burst < self.burst:
            self.rate, self.burst = min(rate, self.rate), min(burst, self.burst)
            self.__post_init__()  # a new token bucket at the stricter rate

    def admit(self, now: float) -> None:
        """Take the slot at `now` (burst=1: book the next one an interval on)."""
        if self.burst == 1:
            interval = 1.0 / self.rate
            late = now - self.next_at > _LATE * interval
            self.next_at = (now if late else self.next_at) + interval

    def settle(self, at: float, limit: int) -> None:
        """A pending admission's answer arrived at `at`: log it there."""
        self.pending -= 1
        self.admitted.append(at)
        while len(self.admitted) > limit:
            self.admitted.popleft()
        if self.settled is not None and not self.settled.done():
            self.settled.set_result(None)
        self.settled = None


def _of_loop(loop: asyncio.AbstractEventLoop) -> dict[Any, Any]:
    """The buckets of `loop` (their times are its clock), in `PROCESS.buckets`.

    Keyed weakly by the loop, so a closed loop takes its buckets with it.
    """
    return PROCESS.buckets.setdefault(loop, {})


class Limiter:
    """Admit calls of one instance at the rates `RateLimits` gives each method.

    With a `SharedLimiterStore`, every process sharing it stays within one rate.
    """

    def __init__(
        self, id_instance: str, limits: RateLimits, store: object = None
    ) -> None:
        self._id = id_instance
        self._limits = limits
        self._shared = store if isinstance(store, SharedLimiterStore) else None
        self.on_pace: Callable[[PaceRecord | None], None] = lambda record: None
        """Told the look-up pace each gated look-up read (see `LookupGovernor`)."""
        self._answered = _Answered(self._shared)

    @property
    def limits(self) -> RateLimits:
        """The rates, look-up cap and budget it applies."""
        return self._limits

    @property
    def gates_in_store(self) -> bool:
        """True when admissions also read the breaker (one store round trip)."""
        return self._limits.enabled and self._shared is not None

    def _key(self, method: str) -> str:
        return f"{{{self._id}}}:limiter:{method}"

    def _local(self, method: str) -> tuple[asyncio.AbstractEventLoop, _Bucket]:
        """The (instance, method)'s bucket, not one client's: the stricter ask holds."""
        loop = asyncio.get_running_loop()
        buckets = _of_loop(loop)
        rate, burst = self._limits.rate_for(method), self._limits.burst
        bucket: _Bucket | None = buckets.get((self._id, method))
        if bucket is None:
            bucket = buckets[self._id, method] = _Bucket(rate, burst)
        else:
            bucket.ask(rate, burst, f"instance {self._id}, {method}")
        return loop, bucket

    async def acquire(
        self,
        spec: MethodSpec,
        wake: Wake | None = None,
        gate: Gate | None = None,
        *,
        pace: float = 1.0,
    ) -> bool | GatedAdmission:
        """Wait until `method` may be sent without exceeding its rate.

        Returns False when `wake`'s future finished first (a pause began while
        waiting); a caller that leaves (so, or cancelled) takes no capacity.
        With a `gate` and a shared store, returns what the store's single
        round trip found when nothing had to wait (or it refused); True means
        the call waited and the breaker must be read again.

        An admission counts as "now" in the one-second log until `done(spec)`
        is called (once, when the answer arrived or the attempt ended); the
        caller must call it after any truthy return.
        A contact look-up is also spaced at `pace` times its rate (the pace
        its `LookupGovernor` slot read).
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
        limit = bucket.limit
        if not await _wait_for_window(loop, bucket, limit, wake):
            return False
        passed: bool | GatedAdmission = False
        try:  # the look-ups' pace, then the shared store's booking
            if pace >= 1.0 or await self._paced(spec, pace, wake):
                shared = self._shared
                passed = shared is None or await self._book_shared(
                    shared, method, wake, gate
                )
        finally:
            if not passed:  # woken or failed, unsent: settled now
                bucket.settle(loop.time(), limit)
        return passed

    async def _paced(self, spec: MethodSpec, pace: float, wake: Wake | None) -> bool:
        """Space the instance's look-ups at `pace` times the method's rate."""
        interval = 1.0 / (pace * self._limits.rate_for(spec.name))
        if self._shared is not None:
            key = self._key("lookup_pace")
            wait = await self._shared.limiter_admit(key, interval=interval, burst=1)
        else:
            slots = _of_loop(asyncio.get_running_loop())
            slot = ("lookup pace", self._id)
            now = asyncio.get_running_loop().time()
            start = max(slots.get(slot, now), now)
            slots[slot] = start + interval
            wait = start - now
        return wait <= _EPSILON or await _nap(wait, wake)

    def done(self, spec: MethodSpec) -> None:
        """The answer to an admission arrived (or it ended unsent)."""
        if not self._limits.enabled:
            return
        loop, bucket = self._local(spec.name)
        if bucket.pending > 0:
            bucket.settle(loop.time(), bucket.limit)
        log = _HELD.get()  # this call's held shared send was answered:
        if log is not None and self._shared is not None:
            _HELD.set(None)  # settled with its log's next booking, or soon
            self._answered.add(log)

    async def _book_shared(
        self,
        store: SharedLimiterStore,
        method: str,
        wake: Wake | None,
        gate: Gate | None,
    ) -> bool | GatedAdmission:
        _, bucket = self._local(method)  # its rate: the stricter one asked
        burst, margin = bucket.burst, 1.0 + self._limits.shared_margin
        key, interval = self._key(method), margin / bucket.rate
        # The log's second is stretched by the same margin: what it admits
        # still crosses the network with some jitter before GREEN-API counts it.
        # A call is held in the shared log until its answer, as in the local.
        log_key = f"{{{self._id}}}:window:{method}"
        settle = self._answered.take(log_key)
        log = SendLog(log_key, bucket.limit, WINDOW * margin, uuid.uuid4().hex, settle)
        try:
            if gate is not None:
                while True:  # a look-up waits here for its slot and budget
                    found = await store.limiter_admit_gated(
                        key, interval=interval, burst=burst, log=log, gate=gate
                    )
                    log = log._replace(settle=())  # settled by that step
                    if found.refused >= 0:
                        return found  # refused: nothing booked
                    if gate.lookup is not None:  # the pace was read
                        self.on_pace(found.pace)
                    if found.lookup_wait <= 0:
                        break
                    if found.lookup_wait > SLOT_POLL:
                        logger.info(
                            "look-up budget full; waiting %.0f s", found.lookup_wait
                        )
                    if not await _nap(found.lookup_wait, wake):
                        return False  # woken: nothing booked
                if found.wait <= _EPSILON:
                    _HELD.set(log)  # for `done()`, per task
                    return found  # one round trip: the breaker was read with it
                wait = found.wait
            else:
                wait = await store.limiter_admit(
                    key, interval=interval, burst=burst, log=log
                )
            while wait > _EPSILON:  # one round trip when nothing has to wait
                log = log._replace(settle=())  # settled by that round trip
                # A slot booked in the store cannot be handed back to it.
                if not await _nap(wait, wake):
                    return False
                log = log._replace(settle=self._answered.take(log.key))
                wait = await store.limiter_enter_pending(log)
        except BaseException:
            self._answered.restore(log)  # not settled: they ride on the next one
            raise
        _HELD.set(log)
        return True

    async def drain(self) -> None:
        """Settle held sends that are still waiting for a booking to ride on."""
        await self._answered.flush_all()

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


class _Answered:
    """Held shared sends whose answers arrived, waiting to be settled.

    Each rides on the next booking of its log; one still here after
    `_SETTLE_DELAY` is settled in a round trip of its own, so other
    processes never wait long on a send that is over.
    """

    def __init__(self, store: SharedLimiterStore | None) -> None:
        self._logs: dict[str, tuple[SendLog, list[tuple[str, float]]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._store = store

    def add(self, log: SendLog, at: float | None = None) -> None:
        """`log.ticket` was answered at `at` (loop time; default now)."""
        loop = asyncio.get_running_loop()
        _, answered = self._logs.setdefault(log.key, (log, []))
        answered.append((log.ticket, loop.time() if at is None else at))
        if log.key not in self._timers:
            self._timers[log.key] = loop.call_later(
                _SETTLE_DELAY, self._flush_later, log.key
            )

    def take(self, key: str) -> tuple[tuple[str, float], ...]:
        """The answered sends of `key` as (ticket, seconds ago); forgets them."""
        found = self._logs.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if found is None:
            return ()
        now = asyncio.get_running_loop().time()
        return tuple((ticket, max(0.0, now - at)) for ticket, at in found[1])

    def restore(self, log: SendLog) -> None:
        """Keep `log.settle` for a later round trip (this one failed)."""
        now = asyncio.get_running_loop().time()
        for ticket, age in log.settle:
            self.add(log._replace(ticket=ticket), at=now - age)

    def _flush_later(self, key: str) -> None:
        self._timers.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._flush(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, key: str) -> None:
        found = self._logs.get(key)
        if found is None or self._store is None:
            return
        log = found[0]._replace(ticket="", settle=self.take(key))
        try:
            await self._store.limiter_done(log)
        except StoreUnavailableError as exc:
            # The store lets a held send go after PENDING_SECONDS by itself.
            logger.warning("%s: sends not settled in the state store: %s", key, exc)

    async def flush_all(self) -> None:
        await asyncio.gather(*(self._flush(key) for key in list(self._logs)))
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_DRAIN_SECONDS)


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
    loop: asyncio.AbstractEventLoop,
    bucket: _Bucket,
    limit: int,
    wake: Wake | None,
) -> bool:
    """Wait for room in the one-second log (and the burst=1 slot); hold it."""
    while (wait := _window_wait(loop.time(), bucket, limit)) != 0.0:
        if wait == math.inf:  # every slot is held by a call still in flight
            if bucket.settled is None:
                bucket.settled = loop.create_future()
            if not await _nap(WINDOW, wake, bucket.settled):
                return False
        elif not await _nap(wait, wake):
            return False
    bucket.admit(loop.time())
    bucket.pending += 1
    return True


def _window_wait(now: float, bucket: _Bucket, limit: int) -> float:
    """Seconds until a call may be admitted: 0 now, inf until one settles."""
    free = limit - bucket.pending
    if free <= 0:
        return math.inf
    wait = bucket.next_at - now
    admitted = bucket.admitted
    if len(admitted) >= free:
        wait = max(wait, admitted[-free] + WINDOW - now)
    return wait if wait > _EPSILON else 0.0


async def _nap(
    seconds: float,
    wake: Wake | None,
    settled: asyncio.Future[None] | None = None,
) -> bool:
    """Sleep `seconds` (or until `settled`); False as soon as `wake` fires."""
    if wake is None and settled is None:
        await asyncio.sleep(seconds)
        return True
    woken = wake() if wake is not None else None
    if woken is not None and woken.done():
        return False
    # Both futures are shared by every waiter: wait on them, never cancel them.
    waits = {f for f in (woken, settled) if f is not None}
    await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    return woken is None or not woken.done()
