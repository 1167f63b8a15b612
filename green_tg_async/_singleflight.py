"""Share one in-flight operation between concurrent callers asking for the same key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Run `make()` once per key at a time; concurrent callers await that run.

    A caller that is cancelled does not cancel the shared run, and a failure
    reaches every caller waiting on it.
    """

    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, make: Callable[[], Awaitable[V]]) -> V:
        """Return the result of the run for `key`, starting one if none is going."""
        pending = self._calls.get(key)
        if pending is None:
            pending = asyncio.ensure_future(make())
            self._calls[key] = pending
            pending.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(pending)

    def _forget(self, key: K, done: asyncio.Future[V]) -> None:
        if self._calls.get(key) is done:
            del self._calls[key]
        if not done.cancelled():
            done.exception()  # retrieved, so an unawaited failure is not logged

    def __len__(self) -> int:
        return len(self._calls)
