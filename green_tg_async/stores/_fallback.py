"""`FailOpenStore`: a shared store that keeps limiting locally while it is down.

Failing closed is the default, because silently exceeding limits is how
instances get banned. Wrapped in `FailOpenStore`, a shared store instead keeps
going on local state for what limits sending: the limiter runs in this process
at `fallback_fraction` of the rate, the last pause it saw still holds, and
pauses tripped meanwhile are written back as soon as it answers again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

from green_tg_async._exceptions import StoreUnavailableError
from green_tg_async._logging import logger

from ._base import (
    BotStore,
    BreakerRecord,
    CacheStore,
    Claim,
    Gate,
    GatedAdmission,
    LookupEntry,
    PaceRecord,
    SendLog,
    SharedLimiterStore,
    StateStore,
    require,
)
from ._gate import admit_gated_stepwise
from ._transitions import (
    failed,
    lookup_step,
    opened,
    pace_cut,
    probed,
    released,
    succeeded,
)

__all__ = ["FailOpenStore", "LocalFallback"]

R = TypeVar("R")


class _Pauses(Protocol):
    async def breaker_open(self, key: str, *, until: float, reason: str) -> None: ...


class LocalFallback:
    """Breaker, limiter and cache kept in this process while the store is down.

    While down, calls do not touch the store at all until `down_until`; then
    one call probes it, so a store that hangs costs one timeout per
    `probe_interval` seconds, not one per call.
    """

    def __init__(
        self,
        fraction: float,
        *,
        probe_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"fallback_fraction must be in (0, 1], got {fraction}")
        if not probe_interval > 0:
            raise ValueError(f"probe_interval must be positive, got {probe_interval}")
        self._fraction = fraction
        self._probe_interval = probe_interval
        self._clock = clock
        self.down_until = 0.0
        self._known: dict[str, BreakerRecord | None] = {}
        self._pending: dict[str, BreakerRecord] = {}
        self._tat: dict[str, float] = {}
        self._sends: dict[str, deque[float]] = {}
        self._paces: dict[str, PaceRecord | None] = {}
        self._slots: dict[str, dict[str, float]] = {}
        self.active = False
        self.written = 0  # pauses written back since the store went down

    async def recover(self, store: _Pauses) -> None:
        """Write pauses tripped while the store was down back to it.

        Raises `StoreUnavailableError` (keeping what is not written yet) when
        the store is still down. Does not decide that the store is back: the
        caller does, once a call of its own went through.
        """
        while self._pending:
            key, record = next(iter(self._pending.items()))
            await store.breaker_open(key, until=record.open_until, reason=record.reason)
            del self._pending[key]
            self.written += 1

    @property
    def pending(self) -> bool:
        """True while pauses taken locally wait to be written to the store."""
        return bool(self._pending)

    def next_probe(self) -> float:
        """Seconds until the store is due for a probe (0: now)."""
        return max(0.0, self.down_until - self._clock()) if self.active else 0.0

    def skip_store(self) -> bool:
        """True while the store is known down and not due for a probe."""
        return self.active and self._clock() < self.down_until

    def down(self) -> None:
        """A call to the store failed: skip it for the next probe interval."""
        self.down_until = self._clock() + self._probe_interval

    def back(self) -> None:
        """The store answered a call: leave fallback mode, saying so once."""
        self.active = False
        logger.warning(
            "state store answers again; %d pause(s) kept locally written back",
            self.written,
        )
        self.written = 0

    def _set(self, key: str, record: BreakerRecord | None, *, pause: bool) -> None:
        self._known[key] = record
        if pause and record is not None and record.open_until:
            self._pending[key] = record

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        return self._known.get(key)

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        self._set(key, opened(self._known.get(key), until, reason), pause=True)

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        record = failed(self._known.get(key), threshold, until, reason)
        self._set(key, record, pause=True)
        return record

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        record = probed(self._known.get(key), now, lease_until)
        if record is not None:
            self._set(key, record, pause=False)
        return record is not None

    async def breaker_release(self, key: str, *, lease_until: float) -> None:
        record = released(self._known.get(key), lease_until)
        if record is not None:
            self._set(key, record, pause=False)

    async def breaker_success(self, key: str, *, now: float) -> None:
        self._set(key, succeeded(self._known.get(key), now), pause=False)

    async def breaker_reset(self, key: str) -> None:
        self._set(key, None, pause=False)
        self._pending.pop(key, None)

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        step = interval / self._fraction
        now = time.monotonic()
        tat = max(self._tat.get(key, 0.0), now)
        self._tat[key] = tat + step
        wait = max(0.0, tat - (burst - 1) * step - now)
        if wait > 0 or log is None:
            return wait
        return await self.limiter_enter(log.key, limit=log.limit, window=log.window)

    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog | None,
        gate: Gate,
    ) -> GatedAdmission:
        return await admit_gated_stepwise(
            self, key, interval=interval, burst=burst, log=log, gate=gate
        )

    async def limiter_enter(self, key: str, *, limit: int, window: float) -> float:
        sends = self._sends.setdefault(key, deque())
        now = time.monotonic()
        if len(sends) >= limit and (wait := sends[-limit] + window - now) > 0:
            return wait
        sends.append(now)
        while len(sends) > limit:
            sends.popleft()
        return 0.0

    async def limiter_enter_pending(self, log: SendLog) -> float:
        # Held sends are logged at once here: this process's own limiter
        # already holds them until their answer.
        return await self.limiter_enter(log.key, limit=log.limit, window=log.window)

    async def limiter_done(self, log: SendLog) -> None:
        return None

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        self._tat[key] = max(self._tat.get(key, 0.0), time.monotonic() + seconds)

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        budget = entry.budget
        logs = [
            self._sends.setdefault(f"{budget}:{s}", deque()) for _, s in entry.windows
        ]
        slots = self._slots.setdefault(entry.slots, {})
        wait = lookup_step(slots, logs, entry, time.monotonic())
        return wait, self._paces.get(entry.pace)

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        held = self._slots.get(slots, {})
        for ticket in tickets:
            held.pop(ticket, None)

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
        self._paces[key] = None

    def seen(self, key: str, record: BreakerRecord | None) -> None:
        """The store answered `record` for `key`: what holds while it is down."""
        self._known[key] = record

    def seen_pace(self, key: str, record: PaceRecord | None) -> None:
        self._paces[key] = record


class FailOpenStore:
    """A shared store that keeps limiting in this process while it is down.

    One rule for every method. What limits sending (the methods of
    `StateStore` and `SharedLimiterStore`: pauses, the limiter, look-up
    slots, budget and pace) falls back to this process's own state when
    `primary` raises `StoreUnavailableError`: the rate at `fallback_fraction`,
    the last pause seen still holding, new pauses kept and written back when
    the store answers again. Everything else (the cache, a bot's inbox,
    claims, done markers and conversation state, and any method not named
    here) is the primary's alone: while it is down it raises
    `StoreUnavailableError`, never an empty answer, and a bot waits it out.

    Example::

        store = FailOpenStore(RedisStore("redis://redis.internal:6379/0"))

    A store that hangs costs one timeout per `probe_interval` seconds: in
    between, the limiting methods do not touch it.
    """

    def __init__(
        self,
        primary: StateStore,
        *,
        fallback_fraction: float = 0.5,
        probe_interval: float = 5.0,
    ) -> None:
        require(primary, "wrapped in FailOpenStore", StateStore, SharedLimiterStore)
        self._primary: Any = primary
        self._local = LocalFallback(fallback_fraction, probe_interval=probe_interval)

    @property
    def primary(self) -> StateStore:
        """The wrapped store."""
        return self._primary  # type: ignore[no-any-return]

    @property
    def durable(self) -> bool:
        """As the primary's (a bot's inbox lives there alone)."""
        return bool(self._primary.durable)

    def __getattr__(self, name: str) -> Any:
        # Methods not named here (say, a newer store's) are the primary's alone.
        return getattr(self._primary, name)

    async def _either(
        self, shared: Callable[[], Awaitable[R]], local: Callable[[], Awaitable[R]]
    ) -> R:
        """`shared()`, or `local()` while the primary is down."""
        fallback = self._local
        if fallback.skip_store():
            return await local()
        try:
            if fallback.active:
                await fallback.recover(self._primary)
            result = await shared()
        except StoreUnavailableError as exc:
            fallback.down()
            if not fallback.active:
                fallback.active = True
                logger.warning("state store unavailable, continuing locally: %s", exc)
            return await local()
        if fallback.active:
            fallback.back()
        return result

    async def write_back(self) -> float:
        """Write pauses kept locally while the store was down back to it.

        Returns 0 when none is left to write, else the seconds until the
        store is due for the next try. The breaker calls this on its own
        schedule, so a process that goes idle still shares its pause.
        """
        fallback = self._local
        if not fallback.pending:
            return 0.0
        if fallback.skip_store():
            return fallback.next_probe()
        try:
            await fallback.recover(self._primary)
        except StoreUnavailableError:
            fallback.down()
            return fallback.next_probe()
        fallback.back()
        return 0.0

    # -- falls back: pauses ----------------------------------------------------

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        """As the primary's; while it is down, the last record seen."""
        p, local = self._primary, self._local
        record: BreakerRecord | None = await self._either(
            lambda: p.breaker_get(key), lambda: local.breaker_get(key)
        )
        local.seen(key, record)
        return record

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        """As the primary's; while it is down, kept here and written back."""
        p, local = self._primary, self._local
        await self._either(
            lambda: p.breaker_open(key, until=until, reason=reason),
            lambda: local.breaker_open(key, until=until, reason=reason),
        )

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        """As the primary's; while it is down, counted here."""
        p, local = self._primary, self._local
        kw: dict[str, Any] = {"threshold": threshold, "until": until, "reason": reason}
        record: BreakerRecord = await self._either(
            lambda: p.breaker_failure(key, **kw),
            lambda: local.breaker_failure(key, **kw),
        )
        local.seen(key, record)
        return record

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        """As the primary's; while it is down, the lease is taken here."""
        p, local = self._primary, self._local
        taken: bool = await self._either(
            lambda: p.breaker_probe(key, now=now, lease_until=lease_until),
            lambda: local.breaker_probe(key, now=now, lease_until=lease_until),
        )
        return taken

    async def breaker_release(self, key: str, *, lease_until: float) -> None:
        """As the primary's; while it is down, released here."""
        p, local = self._primary, self._local
        await self._either(
            lambda: p.breaker_release(key, lease_until=lease_until),
            lambda: local.breaker_release(key, lease_until=lease_until),
        )

    async def breaker_success(self, key: str, *, now: float) -> None:
        """As the primary's; while it is down, recorded here."""
        p, local = self._primary, self._local
        await self._either(
            lambda: p.breaker_success(key, now=now),
            lambda: local.breaker_success(key, now=now),
        )

    async def breaker_reset(self, key: str) -> None:
        """As the primary's; while it is down, reset here."""
        p, local = self._primary, self._local
        await self._either(
            lambda: p.breaker_reset(key), lambda: local.breaker_reset(key)
        )

    # -- falls back: look-ups ---------------------------------------------------

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        """As the primary's; while it is down, slots and budget kept here."""
        p, local = self._primary, self._local
        found: tuple[float, PaceRecord | None] = await self._either(
            lambda: p.lookup_enter(entry), lambda: local.lookup_enter(entry)
        )
        local.seen_pace(entry.pace, found[1])
        return found

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        """As the primary's; while it is down, freed here."""
        p, local = self._primary, self._local
        await self._either(
            lambda: p.lookup_exit(slots, tickets),
            lambda: local.lookup_exit(slots, tickets),
        )

    async def pace_get(self, key: str) -> PaceRecord | None:
        """As the primary's; while it is down, the last pace seen."""
        p, local = self._primary, self._local
        record: PaceRecord | None = await self._either(
            lambda: p.pace_get(key), lambda: local.pace_get(key)
        )
        local.seen_pace(key, record)
        return record

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
        """As the primary's; while it is down, cut here (not written back)."""
        p, local = self._primary, self._local
        kw: dict[str, Any] = {"now": now, "resume_at": resume_at, "decrease": decrease}
        kw |= {"floor": floor, "climb": climb}
        record: PaceRecord = await self._either(
            lambda: p.pace_cut(key, **kw), lambda: local.pace_cut(key, **kw)
        )
        local.seen_pace(key, record)
        return record

    async def pace_reset(self, key: str) -> None:
        """As the primary's; while it is down, reset here."""
        p, local = self._primary, self._local
        await self._either(lambda: p.pace_reset(key), lambda: local.pace_reset(key))

    # -- falls back: the limiter -------------------------------------------------

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        """As the primary's; while it is down, at `fallback_fraction` here."""
        p, local = self._primary, self._local
        kw: dict[str, Any] = {"interval": interval, "burst": burst, "log": log}
        wait: float = await self._either(
            lambda: p.limiter_admit(key, **kw), lambda: local.limiter_admit(key, **kw)
        )
        return wait

    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog | None,
        gate: Gate,
    ) -> GatedAdmission:
        """As the primary's; while it is down, here on the last records seen."""
        p, local = self._primary, self._local
        kw: dict[str, Any] = {
            "interval": interval,
            "burst": burst,
            "log": log,
            "gate": gate,
        }
        found: GatedAdmission = await self._either(
            lambda: p.limiter_admit_gated(key, **kw),
            lambda: local.limiter_admit_gated(key, **kw),
        )
        for k, record in zip(gate.keys, found.records, strict=True):
            local.seen(k, record)
        return found

    async def limiter_enter(self, key: str, *, limit: int, window: float) -> float:
        """As the primary's; while it is down, this process's log."""
        p, local = self._primary, self._local
        wait: float = await self._either(
            lambda: p.limiter_enter(key, limit=limit, window=window),
            lambda: local.limiter_enter(key, limit=limit, window=window),
        )
        return wait

    async def limiter_enter_pending(self, log: SendLog) -> float:
        """As the primary's; while it is down, this process's log."""
        p, local = self._primary, self._local
        wait: float = await self._either(
            lambda: p.limiter_enter_pending(log),
            lambda: local.limiter_enter_pending(log),
        )
        return wait

    async def limiter_done(self, log: SendLog) -> None:
        """As the primary's; while it is down, nothing to settle."""
        p, local = self._primary, self._local
        await self._either(lambda: p.limiter_done(log), lambda: local.limiter_done(log))

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        """As the primary's; while it is down, this process's schedule."""
        p, local = self._primary, self._local
        await self._either(
            lambda: p.limiter_penalize(key, seconds=seconds),
            lambda: local.limiter_penalize(key, seconds=seconds),
        )

    # -- the primary's alone: fail closed ---------------------------------------

    async def cache_get(self, key: str) -> str | None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await cast(CacheStore, self._primary).cache_get(key)

    async def cache_set(self, key: str, value: str, *, ttl: float) -> None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        await cast(CacheStore, self._primary).cache_set(key, value, ttl=ttl)

    async def cache_delete(self, key: str) -> None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        await cast(CacheStore, self._primary).cache_delete(key)

    async def inbox_add(self, queue: str, item: str, payload: str) -> bool:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.inbox_add(queue, item, payload)

    async def inbox_items(self, queue: str) -> list[tuple[str, str]]:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.inbox_items(queue)

    async def inbox_remove(self, queue: str, item: str) -> None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        await self._bot.inbox_remove(queue, item)

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
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.inbox_take(
            queue, item, payload, done=done, owner=owner, lease=lease
        )

    async def inbox_renew(
        self, queue: str, items: list[str], *, owner: str, lease: float
    ) -> list[str]:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.inbox_renew(queue, items, owner=owner, lease=lease)

    async def inbox_release(self, queue: str, item: str, *, owner: str) -> None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        await self._bot.inbox_release(queue, item, owner=owner)

    async def inbox_finish(
        self, queue: str, item: str, *, done: str, ttl: float
    ) -> None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        await self._bot.inbox_finish(queue, item, done=done, ttl=ttl)

    async def inbox_resume(
        self, queue: str, *, owner: str, lease: float, limit: int
    ) -> list[tuple[str, str]]:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.inbox_resume(
            queue, owner=owner, lease=lease, limit=limit
        )

    @property
    def _bot(self) -> BotStore:
        return cast(BotStore, self._primary)

    async def aclose(self) -> None:
        """Close the primary."""
        await self._primary.aclose()

    def __repr__(self) -> str:
        state = "down" if self._local.active else "up"
        return f"<FailOpenStore primary={self._primary!r} {state}>"
