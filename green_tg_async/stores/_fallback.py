"""`FailOpenStore`: a shared store that keeps limiting locally while it is down.

Failing closed is the default, because silently exceeding limits is how
instances get banned. Wrapped in `FailOpenStore`, a shared store instead keeps
going on local state for what limits sending: the limiter runs in this process
at `fallback_fraction` of the rate, the last pause it saw still holds, and
pauses tripped meanwhile are written back as soon as it answers again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

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
    Resumed,
    SendLog,
    SharedLimiterStore,
    StateStore,
)
from ._journal import JournalEntry
from ._local import LocalFallback
from ._require import require

__all__ = ["FailOpenStore"]

P = ParamSpec("P")
R = TypeVar("R")


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
        # A method not named here (say, a newer store's) is the primary's
        # alone, as the cache and the inbox are: it fails closed.
        return getattr(self._primary, name)

    async def _either(
        self,
        shared: Callable[P, Awaitable[R]],
        local: Callable[P, Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """`shared(...)`, or `local(...)` while the primary is down."""
        fallback = self._local
        if fallback.skip_store():
            return await local(*args, **kwargs)
        try:
            if fallback.active:
                await fallback.recover(self._primary)
            result = await shared(*args, **kwargs)
        except StoreUnavailableError as exc:
            fallback.down()
            if not fallback.active:
                fallback.active = True
                logger.warning("state store unavailable, continuing locally: %s", exc)
            return await local(*args, **kwargs)
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

    # -- falls back: pauses, look-ups, the limiter ----------------------------

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        """As the primary's; while it is down, the last record seen."""
        p, local = self._primary, self._local
        record = await self._either(p.breaker_get, local.breaker_get, key)
        local.seen(key, record)
        return record

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        """As the primary's; while it is down, kept here and written back."""
        p, local = self._primary, self._local
        await self._either(
            p.breaker_open, local.breaker_open, key, until=until, reason=reason
        )

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        """As the primary's; while it is down, counted here."""
        p, local = self._primary, self._local
        record = await self._either(
            p.breaker_failure,
            local.breaker_failure,
            key,
            threshold=threshold,
            until=until,
            reason=reason,
        )
        local.seen(key, record)
        return record

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        """As the primary's; while it is down, the lease is taken here."""
        p, local = self._primary, self._local
        return await self._either(
            p.breaker_probe, local.breaker_probe, key, now=now, lease_until=lease_until
        )

    async def breaker_release(self, key: str, *, lease_until: float) -> None:
        """As the primary's; while it is down, released here."""
        p, local = self._primary, self._local
        await self._either(
            p.breaker_release, local.breaker_release, key, lease_until=lease_until
        )

    async def breaker_success(self, key: str, *, now: float) -> None:
        """As the primary's; while it is down, recorded here."""
        p, local = self._primary, self._local
        await self._either(p.breaker_success, local.breaker_success, key, now=now)

    async def breaker_reset(self, key: str) -> None:
        """As the primary's; while it is down, reset here."""
        await self._either(self._primary.breaker_reset, self._local.breaker_reset, key)

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        """As the primary's; while it is down, slots and budget kept here."""
        p, local = self._primary, self._local
        found = await self._either(p.lookup_enter, local.lookup_enter, entry)
        local.seen_pace(entry.pace, found[1])
        return found

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        """As the primary's; while it is down, freed here."""
        await self._either(
            self._primary.lookup_exit, self._local.lookup_exit, slots, tickets
        )

    async def pace_get(self, key: str) -> PaceRecord | None:
        """As the primary's; while it is down, the last pace seen."""
        p, local = self._primary, self._local
        record = await self._either(p.pace_get, local.pace_get, key)
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
        record = await self._either(
            p.pace_cut,
            local.pace_cut,
            key,
            now=now,
            resume_at=resume_at,
            decrease=decrease,
            floor=floor,
            climb=climb,
        )
        local.seen_pace(key, record)
        return record

    async def pace_reset(self, key: str) -> None:
        """As the primary's; while it is down, reset here."""
        await self._either(self._primary.pace_reset, self._local.pace_reset, key)

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        """As the primary's; while it is down, at `fallback_fraction` here."""
        p, local = self._primary, self._local
        return await self._either(
            p.limiter_admit,
            local.limiter_admit,
            key,
            interval=interval,
            burst=burst,
            log=log,
        )

    async def limiter_admit_gated(
        self, key: str, *, interval: float, burst: int, log: SendLog, gate: Gate
    ) -> GatedAdmission:
        """As the primary's; while it is down, here on the last records seen."""
        p, local = self._primary, self._local
        found = await self._either(
            p.limiter_admit_gated,
            local.limiter_admit_gated,
            key,
            interval=interval,
            burst=burst,
            log=log,
            gate=gate,
        )
        for k, record in zip(gate.keys, found.records, strict=True):
            local.seen(k, record)
        return found

    async def limiter_enter_pending(self, log: SendLog) -> float:
        """As the primary's; while it is down, this process's log."""
        p, local = self._primary, self._local
        return await self._either(
            p.limiter_enter_pending, local.limiter_enter_pending, log
        )

    async def limiter_done(self, log: SendLog) -> None:
        """As the primary's; while it is down, nothing to settle."""
        await self._either(self._primary.limiter_done, self._local.limiter_done, log)

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        """As the primary's; while it is down, this process's schedule."""
        p, local = self._primary, self._local
        await self._either(
            p.limiter_penalize, local.limiter_penalize, key, seconds=seconds
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
    ) -> Resumed:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.inbox_resume(
            queue, owner=owner, lease=lease, limit=limit
        )

    async def journal_begin(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        owner: str,
        lease: float,
        ttl: float,
    ) -> JournalEntry:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.journal_begin(
            key,
            fingerprint=fingerprint,
            intent=intent,
            owner=owner,
            lease=lease,
            ttl=ttl,
        )

    async def journal_finish(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        message: str,
        result: str,
        ttl: float,
    ) -> str | None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        return await self._bot.journal_finish(
            key,
            fingerprint=fingerprint,
            intent=intent,
            message=message,
            result=result,
            ttl=ttl,
        )

    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        """The primary's; raises `StoreUnavailableError` while it is down."""
        await self._bot.journal_release(key, owner=owner, forget=forget)

    @property
    def _bot(self) -> BotStore:
        return cast(BotStore, self._primary)

    async def aclose(self) -> None:
        """Close the primary."""
        await self._primary.aclose()

    def __repr__(self) -> str:
        state = "down" if self._local.active else "up"
        return f"<FailOpenStore primary={self._primary!r} {state}>"


def failing_open(store: StateStore) -> StateStore:
    """`store`, or its one `FailOpenStore` when it was made with `fail_open=True`.

    `RedisStore(url, fail_open=True)` is the short spelling of
    `FailOpenStore(RedisStore(url))`; every client given the store shares one
    wrapper, so one fallback state per store, as with an explicit one.
    """
    if not getattr(store, "fail_open", False):
        return store
    wrapper: StateStore | None = getattr(store, "_fail_open_store", None)
    if wrapper is None:
        wrapper = cast(StateStore, FailOpenStore(store))
        store._fail_open_store = wrapper  # type: ignore[attr-defined]
    return wrapper
