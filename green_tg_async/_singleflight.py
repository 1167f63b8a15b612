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
    the others wait for its outcome, a failure included. If that first caller
    is cancelled, a waiter takes over and runs `make()` again, so one caller
    giving up never cancels the others.
    """

    def __init__(self) -> None:
        self._calls: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, make: Callable[[], Awaitable[V]]) -> V:
        """Return the outcome of the run for `key`, leading one if none is going."""
        while (pending := self._calls.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this waiter itself was cancelled
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._calls[key] = future
        try:
            result = await make()
        except asyncio.CancelledError:
            future.cancel()  # waiters take over
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" log without waiters
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._calls[key]

    def __len__(self) -> int:
        return len(self._calls)
