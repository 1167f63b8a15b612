"""What this process knows about pauses before (or without) the store.

A 469 must hold in this process from the moment it arrives, even while the
state store cannot take the write, and every caller queued at the limiter of
the paused scope must hear of it at once. Both facts live here, one
`LocalPauses` per store object, so every client of the process that shares
a store shares them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ._process import PROCESS
from .stores import BreakerRecord

__all__ = ["LocalPauses", "local_pauses"]


class LocalPauses:
    """Pauses this process took that the store does not hold yet."""

    __slots__ = ("__weakref__", "_records", "_signals")

    def __init__(self) -> None:
        self._records: dict[str, BreakerRecord] = {}
        self._signals: dict[tuple[str, ...], asyncio.Future[None]] = {}

    def get(self, key: str, now: float) -> BreakerRecord | None:
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
            self._records[key] = BreakerRecord(open_until=until, reason=reason)
        for wanted in [k for k in self._signals if key in k]:
            signal = self._signals.pop(wanted)
            if not signal.get_loop().is_closed():
                _settle(signal)

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


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def local_pauses(store: object) -> LocalPauses:
    """The `LocalPauses` of `store`, shared by every breaker that uses it.

    Kept in `PROCESS.pauses`, keyed weakly by the store object.
    """
    registry = PROCESS.pauses
    try:
        pauses: LocalPauses | None = registry.get(store)
        if pauses is None:
            pauses = registry[store] = LocalPauses()
    except TypeError:  # a store that cannot be weakly referenced or hashed
        return LocalPauses()
    return pauses
