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

    The first caller runs `make()` itself (no extra task on the common path);
    the others wait for its outcome, a failure included. The future they
    wait on is made when the first of them arrives, so a run nobody joins
    costs no future. If that first caller is cancelled, a waiter takes over
    and runs `make()` again, so one caller giving up never cancels the others.
    """

    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Future[V] | None] = {}

    async def run(self, key: K, make: Callable[[], Awaitable[V]]) -> V:
        """Return the outcome of the run for `key`, leading one if none is going."""
        calls = self._calls
        while key in calls:
            pending = calls[key]
            if pending is None:  # the first to join: the leader has no future yet
                pending = calls[key] = asyncio.get_running_loop().create_future()
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this waiter itself was cancelled
        calls[key] = None
        try:
            result = await make()
        except BaseException as exc:
            joined = calls.pop(key)
            if joined is not None:
                if isinstance(exc, asyncio.CancelledError):
                    joined.cancel()  # waiters take over
                else:
                    joined.set_exception(exc)
                    joined.exception()  # retrieved: no "never retrieved" log
            raise
        joined = calls.pop(key)
        if joined is not None:
            joined.set_result(result)
        return result

    def __len__(self) -> int:
        return len(self._calls)
