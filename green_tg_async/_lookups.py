"""Contact look-ups: one governor per instance for their slot, budget and pace.

A look-up (`checkAccount` and the other `contact_lookup` methods) first takes
an in-flight slot: a lease held in the store, so at most
`RateLimits.lookups_in_flight` look-ups of an instance are on the wire across
every process and host that shares the store. In the same store step it is
recorded in the budget windows (`RateLimits.lookup_budget`) and the pace
record is read: the limiter spaces look-ups at that fraction of their rate
(below 1 after a 469). A holder that dies frees its slot when the
lease runs out.

In a process the slots are first taken from a semaphore of the same size, so
local callers queue here rather than poll the store; the slot of a look-up
that ends while another local one waits is freed in that one's store step.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final, NamedTuple

from ._config import BreakerPolicy, RateLimits
from ._exceptions import StoreUnavailableError
from ._limiter import Wake, _nap, _of_loop
from ._logging import logger
from ._methods import MethodSpec
from .stores._base import SLOT_POLL, LookupEntry, PaceRecord, StateStore
from .stores._transitions import pace_at

__all__ = ["NOT_A_LOOKUP", "LookupGovernor", "Turn"]

SLOT_LEASE: Final = 120.0
"""Seconds a look-up holds its slot at most (longer than any one attempt)."""

_EPSILON: Final = 1e-6
_UNCAPPED: Final = 2**31
_DRAIN_SECONDS: Final = 2.0
# An ended look-up's slot waits this long for the next local one to free it
# in its own store step; then it is freed in a round trip of its own.
_FREE_DELAY: Final = 0.02


class _Local:
    """This process's side of an instance's slots (per event loop)."""

    def __init__(self, cap: int) -> None:
        self.slots = asyncio.Semaphore(cap)
        self.waiting = 0  # callers queued at `slots`
        self.ended: list[str] = []  # tickets to free with the next store step
        self.timer: asyncio.TimerHandle | None = None  # frees them if none comes
        self.pace: PaceRecord | None = None  # as the last look-up read it


class Turn(NamedTuple):
    """A look-up's turn: its pace, and its entry when the limiter takes it."""

    pace: float
    """Fraction of the look-up rate to space it at (1.0 for other methods)."""
    entry: LookupEntry | None = None
    """The slot and budget to take in the gated admission's store step; None
    when the governor took them already (or this is not a look-up)."""


NOT_A_LOOKUP: Final = Turn(1.0)
"""The turn of a call the governor holds nothing for (`governs()` is False)."""


class LookupGovernor:
    """The in-flight slots, budget and pace of one instance's contact look-ups."""

    def __init__(
        self,
        id_instance: str,
        limits: RateLimits,
        policy: BreakerPolicy,
        store: StateStore,
    ) -> None:
        self._id = id_instance
        self._limits = limits
        self._policy = policy
        self._store = store
        self._tasks: set[asyncio.Task[None]] = set()
        base = f"{{{id_instance}}}"
        self._slots = f"{base}:lookups:in_flight"
        self._budget = f"{base}:budget:contact_lookups"
        self._pace = f"{base}:pace:contact_lookups"

    def _cap(self) -> int:
        return self._limits.lookups_in_flight or _UNCAPPED

    def _local(self) -> _Local:
        state = _of_loop(asyncio.get_running_loop())
        key = ("look-ups", self._id, self._cap())
        local: _Local | None = state.get(key)
        if local is None:
            local = state[key] = _Local(self._cap())
        return local

    def governs(self, spec: MethodSpec) -> bool:
        """True when `spec` takes a slot; its turn is otherwise `NOT_A_LOOKUP`."""
        return spec.contact_lookup and self._limits.enabled

    @asynccontextmanager
    async def slot(
        self, wake: Wake, check: Callable[[], Awaitable[None]], *, gated: bool
    ) -> AsyncIterator[Turn]:
        """Hold a look-up slot for one attempt (a method it `governs()`).

        Yields its `Turn`. With `gated`, the store slot and budget are left to
        the limiter's gated admission (`Turn.entry`; one store step for all of
        it), at the pace the previous look-up read. While waiting, a pause
        that begins wakes the caller, and `check()` raises its refusal.
        """
        local = self._local()
        local.waiting += 1
        try:
            await local.slots.acquire()
        except BaseException:
            local.waiting -= 1
            if local.ended and not local.waiting:
                self._free(local)  # the caller they were kept for left
            raise
        local.waiting -= 1
        budget = self._limits.lookup_budget
        entry = LookupEntry(  # it frees the slots of the look-ups that ended
            self._slots,
            uuid.uuid4().hex,
            self._cap(),
            SLOT_LEASE,
            self._budget,
            budget.windows if budget is not None else (),
            self._pace,
            tuple(local.ended),
        )
        local.ended.clear()
        try:
            if gated:
                yield Turn(self._pace_at(local.pace), entry)
            else:
                yield Turn(await self._enter(local, entry, wake, check))
        except BaseException:
            local.ended.extend(entry.release)  # maybe not freed: again
            raise
        finally:
            local.ended.append(entry.ticket)  # freed even if never taken
            if not local.waiting and local.timer is None:
                # Freed with the next local look-up's store step, or alone.
                loop = asyncio.get_running_loop()
                local.timer = loop.call_later(_FREE_DELAY, self._free, local)
            local.slots.release()

    async def _enter(
        self,
        local: _Local,
        entry: LookupEntry,
        wake: Wake,
        check: Callable[[], Awaitable[None]],
    ) -> float:
        """Take the store slot and the budget; return the pace read with them."""
        while True:
            wait, local.pace = await self._store.lookup_enter(entry)
            if wait <= _EPSILON:
                return self._pace_at(local.pace)
            entry = entry._replace(release=())  # freed by that step
            if wait > SLOT_POLL:
                logger.info("look-up budget full; waiting %.0f s", wait)
            if not await _nap(wait, wake):
                await check()  # a pause began: refused, unless it was reset

    def seen_pace(self, record: PaceRecord | None) -> None:
        """A gated admission read the look-up pace: the next look-up's."""
        self._local().pace = record

    def _pace_at(self, record: PaceRecord | None) -> float:
        adaptive = self._policy.adaptive_pace
        if adaptive is None or not self._policy.enabled:
            return 1.0
        return pace_at(record, self._policy.clock(), adaptive.climb_per_hour)

    def _free(self, local: _Local) -> None:
        if local.timer is not None:
            local.timer.cancel()
            local.timer = None
        if local.ended:
            tickets = tuple(local.ended)
            local.ended.clear()
            task = asyncio.get_running_loop().create_task(self._exit(tickets))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _exit(self, tickets: tuple[str, ...]) -> None:
        try:
            await self._store.lookup_exit(self._slots, tickets)
        except StoreUnavailableError as exc:
            logger.warning(
                "instance %s: look-up slot kept until its lease ends (%.0f s): %s",
                self._id,
                SLOT_LEASE,
                exc,
            )

    async def drain(self) -> None:
        """Free ended slots now; wait (briefly) for that to reach the store."""
        self._free(self._local())
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_DRAIN_SECONDS)

    def __repr__(self) -> str:
        cap = self._limits.lookups_in_flight
        return f"<LookupGovernor instance={self._id} cap={cap}>"
