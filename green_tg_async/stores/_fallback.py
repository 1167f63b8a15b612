"""`FailOpenStore`: a shared store that keeps limiting locally while it is down.

Failing closed is the default, because silently exceeding limits is how
instances get banned; this wrapper is the choice to keep going instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast

from green_tg_async._exceptions import StoreUnavailableError
from green_tg_async._logging import logger

from ._base import BotStore, SharedLimiterStore, StateStore
from ._local import LocalFallback
from ._require import require

__all__ = ["FailOpenStore"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class _Limiting(StateStore, SharedLimiterStore, Protocol):
    """What may fall back (the primary and `LocalFallback` both have it).

    `_FailsOpen` takes only its methods, so mypy refuses a cache or inbox
    method there.
    """


class _Primary(_Limiting, BotStore, Protocol):
    """Everything a primary may have; the rest is its alone."""


class _FailsOpen(Generic[P, R]):
    """A method of the primary that falls back to `LocalFallback`'s while it is down.

    With `then(hook)`, `hook` is told every answer, the primary's or the
    local one, with the call's arguments: what the local state keeps as
    "last seen".
    """

    def __init__(
        self, method: Callable[[_Limiting], Callable[P, Coroutine[Any, Any, R]]]
    ) -> None:
        self._method = method
        self._seen: Callable[Concatenate[LocalFallback, R, P], None] = _ignore

    def then(
        self, seen: Callable[Concatenate[LocalFallback, R, P], None]
    ) -> _FailsOpen[P, R]:
        self._seen = seen
        return self

    def __get__(
        self, store: FailOpenStore, owner: object = None
    ) -> Callable[P, Coroutine[Any, Any, R]]:
        method, seen = self._method, self._seen

        async def call(*args: P.args, **kwargs: P.kwargs) -> R:
            local = store._local
            shared, here = method(store._primary), method(local)
            result = await store._either(shared, here, *args, **kwargs)
            seen(local, result, *args, **kwargs)
            return result

        return call


class _FailsClosed(Generic[T]):
    """An attribute that is the primary's alone, so it fails closed with it."""

    def __init__(self, get: Callable[[_Primary], T]) -> None:
        self._get = get

    def __get__(self, store: FailOpenStore, owner: object = None) -> T:
        return self._get(store._primary)


def _ignore(*args: object, **kwargs: object) -> None:
    return None


class FailOpenStore:
    """A shared store that keeps limiting in this process while it is down.

    One rule for every method. What limits sending (the methods of
    `StateStore` and `SharedLimiterStore`: pauses, the limiter, look-up
    slots, budget and pace) falls back to this process's own state when
    `primary` raises `StoreUnavailableError`: the rate at `fallback_fraction`,
    the last pause seen still holding, new pauses and probe leases kept and
    written back when the store answers again (a pace cut taken meanwhile is
    not). Everything else (the cache, a bot's inbox, claims, done markers and
    conversation state, the send journal, and any method not named here) is
    the primary's alone: while it is down it raises `StoreUnavailableError`,
    never an empty answer, and a bot waits it out.

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
        self._primary = cast(_Primary, primary)
        self._local = LocalFallback(fallback_fraction, probe_interval=probe_interval)

    @property
    def primary(self) -> StateStore:
        """The wrapped store."""
        return self._primary

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
        if fallback.next_probe() > 0:  # known down, not due for a probe
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
        if (wait := fallback.next_probe()) > 0:
            return wait
        try:
            await fallback.recover(self._primary)
        except StoreUnavailableError:
            fallback.down()
            return fallback.next_probe()
        fallback.back()
        return 0.0

    # -- falls back: pauses, look-ups, the limiter ----------------------------

    breaker_get = _FailsOpen(lambda s: s.breaker_get).then(LocalFallback.seen)
    breaker_open = _FailsOpen(lambda s: s.breaker_open)
    breaker_failure = _FailsOpen(lambda s: s.breaker_failure).then(LocalFallback.seen)
    breaker_probe = _FailsOpen(lambda s: s.breaker_probe)
    breaker_release = _FailsOpen(lambda s: s.breaker_release)
    breaker_success = _FailsOpen(lambda s: s.breaker_success)
    breaker_reset = _FailsOpen(lambda s: s.breaker_reset)
    lookup_enter = _FailsOpen(lambda s: s.lookup_enter).then(LocalFallback.seen_lookup)
    lookup_exit = _FailsOpen(lambda s: s.lookup_exit)
    pace_get = _FailsOpen(lambda s: s.pace_get).then(LocalFallback.seen_pace)
    pace_cut = _FailsOpen(lambda s: s.pace_cut).then(LocalFallback.seen_pace)
    pace_reset = _FailsOpen(lambda s: s.pace_reset)
    limiter_admit = _FailsOpen(lambda s: s.limiter_admit)
    limiter_admit_gated = _FailsOpen(lambda s: s.limiter_admit_gated).then(
        LocalFallback.seen_gated
    )
    limiter_enter_pending = _FailsOpen(lambda s: s.limiter_enter_pending)
    limiter_done = _FailsOpen(lambda s: s.limiter_done)
    limiter_penalize = _FailsOpen(lambda s: s.limiter_penalize)

    # -- the primary's alone: fail closed ---------------------------------------

    durable = _FailsClosed(lambda s: s.durable)
    cache_get = _FailsClosed(lambda s: s.cache_get)
    cache_set = _FailsClosed(lambda s: s.cache_set)
    cache_delete = _FailsClosed(lambda s: s.cache_delete)
    inbox_add = _FailsClosed(lambda s: s.inbox_add)
    inbox_items = _FailsClosed(lambda s: s.inbox_items)
    inbox_remove = _FailsClosed(lambda s: s.inbox_remove)
    inbox_take = _FailsClosed(lambda s: s.inbox_take)
    inbox_renew = _FailsClosed(lambda s: s.inbox_renew)
    inbox_release = _FailsClosed(lambda s: s.inbox_release)
    inbox_finish = _FailsClosed(lambda s: s.inbox_finish)
    inbox_resume = _FailsClosed(lambda s: s.inbox_resume)
    journal_begin = _FailsClosed(lambda s: s.journal_begin)
    journal_finish = _FailsClosed(lambda s: s.journal_finish)
    journal_release = _FailsClosed(lambda s: s.journal_release)
    aclose = _FailsClosed(lambda s: s.aclose)

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
        wrapper = FailOpenStore(store)
        store._fail_open_store = wrapper  # type: ignore[attr-defined]
    return wrapper
