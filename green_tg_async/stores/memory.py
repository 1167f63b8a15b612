"""`MemoryStore`: the default, process-local state store."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Callable

from green_tg_async._process import PROCESS

from ._base import (
    BotStore,
    BreakerRecord,
    Claim,
    LookupEntry,
    PaceRecord,
    Resumed,
    StateStore,
)
from ._journal import MemoryJournal
from ._shared import Change, SharedBreaker
from ._transitions import lookup_step, pace_cut

__all__ = ["MemoryStore", "default_store"]

# Waits shorter than this are float noise (a clock that rounds, looptime).
_EPSILON = 1e-6


class MemoryStore(SharedBreaker, StateStore, BotStore, MemoryJournal):
    """Keep instance state in this process; the default when `store=None`.

    Every method runs without awaiting, so each is atomic under asyncio. One
    process-wide instance (`default_store()`) is shared by all clients, which is
    how two clients of one instance share one breaker.

    The answer cache forgets entries as they expire and holds at most
    `max_cache_entries`; past that, the entries closest to expiry go first.
    The bot inbox lives only as long as the process (`durable` is False).
    """

    durable = False

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        max_cache_entries: int = 100_000,
    ) -> None:
        if max_cache_entries < 1:
            raise ValueError("max_cache_entries must be at least 1")
        self._breakers: dict[str, BreakerRecord] = {}
        self._cache: dict[str, tuple[str, float]] = {}
        # (expires_at, key) for every entry set; entries re-set since leave
        # stale items, skipped when popped and dropped by a rebuild.
        self._expiry: list[tuple[float, str]] = []
        self._max_cache = max_cache_entries
        self._clock = clock
        self._inboxes: dict[str, dict[str, str]] = {}
        # queue -> item -> (owner, until): the claims of inbox items.
        self._claims: dict[str, dict[str, tuple[str, float]]] = {}
        self._paces: dict[str, PaceRecord] = {}
        self._slots: dict[str, dict[str, float]] = {}  # key -> ticket -> until
        self._budgets: dict[tuple[str, float], deque[float]] = {}
        self._journal_init()  # the send journal (`stores/_journal.py`)

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        return self._breakers.get(key)

    async def _update(
        self, key: str, change: Change, *, keep: bool = False
    ) -> BreakerRecord | None:
        record = change(self._breakers.get(key))  # no await: atomic under asyncio
        if record is not None:
            self._breakers[key] = record
        elif not keep:
            self._breakers.pop(key, None)
        return record

    async def cache_get(self, key: str) -> str | None:
        return self._cached(key)

    def _cached(self, key: str) -> str | None:
        item = self._cache.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._cache[key]
            return None
        return item[0]

    async def cache_set(self, key: str, value: str, *, ttl: float) -> None:
        self._cache_value(key, value, ttl)

    def _cache_value(self, key: str, value: str, ttl: float) -> None:
        now = self._clock()
        expires = now + ttl
        self._cache[key] = (value, expires)
        heapq.heappush(self._expiry, (expires, key))
        self._evict(now)

    async def cache_delete(self, key: str) -> None:
        self._cache.pop(key, None)

    async def inbox_add(self, queue: str, item: str, payload: str) -> bool:
        inbox = self._inboxes.setdefault(queue, {})
        if item in inbox:
            return False
        inbox[item] = payload
        return True

    async def inbox_items(self, queue: str) -> list[tuple[str, str]]:
        return list(self._inboxes.get(queue, {}).items())

    async def inbox_remove(self, queue: str, item: str) -> None:
        self._drop(queue, item)

    async def inbox_take(
        self,
        queue: str,
        item: str,
        payload: str,
        *,
        done: str,
        owner: str,
        lease: float,
    ) -> Claim:
        if self._cached(done) is not None:  # no await: atomic under asyncio
            return "done"
        self._inboxes.setdefault(queue, {}).setdefault(item, payload)
        claims = self._claims.setdefault(queue, {})
        now = self._clock()
        holder = claims.get(item)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return "held"
        claims[item] = (owner, now + lease)
        return "claimed"

    async def inbox_renew(
        self, queue: str, items: list[str], *, owner: str, lease: float
    ) -> list[str]:
        claims = self._claims.get(queue, {})
        until = self._clock() + lease
        held = [item for item in items if claims.get(item, ("",))[0] == owner]
        for item in held:
            claims[item] = (owner, until)
        return held

    async def inbox_release(self, queue: str, item: str, *, owner: str) -> None:
        claims = self._claims.get(queue, {})
        if claims.get(item, ("",))[0] == owner:
            del claims[item]

    async def inbox_finish(
        self, queue: str, item: str, *, done: str, ttl: float
    ) -> None:
        self._cache_value(done, "1", ttl)
        self._drop(queue, item)

    async def inbox_resume(
        self, queue: str, *, owner: str, lease: float, limit: int
    ) -> Resumed:
        claims = self._claims.setdefault(queue, {})
        now = self._clock()
        taken: list[tuple[str, str]] = []
        for item, payload in self._inboxes.get(queue, {}).items():
            holder = claims.get(item)
            if len(taken) < limit and (holder is None or holder[1] <= now):
                claims[item] = (owner, now + lease)
                taken.append((item, payload))
        live = [until for who, until in claims.values() if who != owner and until > now]
        return Resumed(taken, min(live) - now if live else None)

    def _drop(self, queue: str, item: str) -> None:
        for table in (self._inboxes, self._claims):
            entries = table.get(queue)
            if entries is not None:
                entries.pop(item, None)
                if not entries:
                    del table[queue]

    async def pace_get(self, key: str) -> PaceRecord | None:
        return self._paces.get(key)

    async def pace_cut(
        self,
        key: str,
        *,
        now: float,
        resume_at: float,
        decrease: float,
        floor: float,
        climb: float,
    ) -> PaceRecord:
        record = pace_cut(self._paces.get(key), now, resume_at, decrease, floor, climb)
        self._paces[key] = record
        return record

    async def pace_reset(self, key: str) -> None:
        self._paces.pop(key, None)

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        return self._lookup(entry), self._paces.get(entry.pace)

    def _lookup(self, entry: LookupEntry) -> float:
        slots = self._slots.setdefault(entry.slots, {})
        logs = [
            self._budgets.setdefault((entry.budget, s), deque())
            for _, s in entry.windows
        ]
        # The event loop's clock: this store serves one process.
        now = asyncio.get_running_loop().time()
        return lookup_step(slots, logs, entry, now, slack=_EPSILON)

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        held = self._slots.get(slots, {})
        for ticket in tickets:
            held.pop(ticket, None)

    def _evict(self, now: float) -> None:
        expiry, cache = self._expiry, self._cache
        while expiry and (expiry[0][0] <= now or len(cache) > self._max_cache):
            expires, key = heapq.heappop(expiry)
            item = cache.get(key)
            if item is not None and item[1] == expires:
                del cache[key]
        if len(expiry) > 2 * len(cache) + 1024:
            self._expiry = [(item[1], key) for key, item in cache.items()]
            heapq.heapify(self._expiry)

    async def aclose(self) -> None:
        """Nothing to release; state is kept for other clients of the process."""

    def __repr__(self) -> str:
        return f"<MemoryStore breakers={len(self._breakers)}>"


def default_store() -> MemoryStore:
    """Return the process-wide store used when a client is given `store=None`."""
    store = PROCESS.default_store
    if store is None:
        store = PROCESS.default_store = MemoryStore()
    return store
