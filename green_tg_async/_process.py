"""Everything the library keeps per process, in one visible object.

Clients of one instance share state that no single client owns: the limiter
buckets (per event loop), the pauses a process holds before the store has
them (`LocalPauses`, per store object), and the `MemoryStore` used when
`store=None`. A 469 must hold in this process from the moment it arrives,
even while the store cannot take the write, and every caller queued at the
limiter of the paused scope must hear of it at once: `LocalPauses` keeps
both. The tokens the log filter redacts are process-wide too, in `_logging`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .stores.memory import MemoryStore

__all__ = ["PROCESS", "HeldPause", "LocalPauses", "ProcessState", "local_pauses"]


class HeldPause(NamedTuple):
    """A pause this process holds: refused until `open_until` (epoch s)."""

    open_until: float
    reason: str


class LocalPauses:
    """Pauses this process took that the store does not hold yet."""

    __slots__ = ("__weakref__", "_records", "_signals")

    def __init__(self) -> None:
        self._records: dict[str, HeldPause] = {}
        self._signals: dict[tuple[str, ...], asyncio.Future[None]] = {}

    def get(self, key: str, now: float) -> HeldPause | None:
        """The pause on `key` that still runs at `now`, if any."""
        record = self._records.get(key)
        if record is None:
            return None
        if record.open_until <= now:
            del self._records[key]
            return None
        return record

    def open(self, key: str, until: float, reason: str) -> None:
        """Hold a pause on `key` until `until` (a longer one is kept)."""
        record = self._records.get(key)
        if record is None or until > record.open_until:
            self._records[key] = HeldPause(until, reason)
        for wanted in [k for k in self._signals if key in k]:
            signal = self._signals.pop(wanted)
            if not signal.get_loop().is_closed() and not signal.done():
                signal.set_result(None)

    def clear(self, key: str, until: float | None = None) -> None:
        """Forget the pause on `key`.

        Without `until` this is a manual reset; with it, the store now holds
        that pause and speaks for every process.
        """
        record = self._records.get(key)
        if record is not None and (until is None or record.open_until <= until):
            del self._records[key]

    def signal(self, keys: Iterable[str]) -> asyncio.Future[None]:
        """A future that is done as soon as any of `keys` is paused here.

        One future per set of keys and loop, shared by every waiter, so
        waiting adds nothing that outlives the wait.
        """
        loop = asyncio.get_running_loop()
        wanted = tuple(keys)
        future = self._signals.get(wanted)
        if future is None or future.done() or future.get_loop() is not loop:
            future = self._signals[wanted] = loop.create_future()
        return future


class ProcessState:
    """The process-wide state of green_tg_async; `reset()` forgets it (tests)."""

    def __init__(self) -> None:
        self.buckets: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Any, Any]
        ] = weakref.WeakKeyDictionary()
        """Limiter buckets per (instance, method), and look-up pace slots; per loop."""
        self.pauses: weakref.WeakKeyDictionary[object, LocalPauses] = (
            weakref.WeakKeyDictionary()
        )
        """`LocalPauses` per store object."""
        self.default_store: MemoryStore | None = None
        """The `MemoryStore` every client given `store=None` shares, once one
        was made (`stores.default_store()` makes it; this module imports no
        store, so the two never import each other)."""

    def reset(self) -> None:
        """Forget buckets, held pauses and the default store's state.

        For tests that share a process. Redaction tokens are kept on purpose:
        forgetting one could let it reach a log.
        """
        self.buckets.clear()
        self.pauses.clear()
        self.default_store = None

    def __repr__(self) -> str:
        return (
            f"<ProcessState loops={len(self.buckets)} stores={len(self.pauses)} "
            f"default_store={'set' if self.default_store else 'unset'}>"
        )


PROCESS = ProcessState()
"""The one instance; `green_tg_async.testing.reset_process_state()` resets it."""


def local_pauses(store: object) -> LocalPauses:
    """The `LocalPauses` of `store`, shared by every breaker that uses it.

    Kept in `PROCESS.pauses`, keyed weakly by the store object.
    """
    try:
        return PROCESS.pauses.setdefault(store, LocalPauses())
    except TypeError:  # a store that cannot be weakly referenced or hashed
        return LocalPauses()
