"""Breaker methods shared by the stores that live outside this process."""

from __future__ import annotations

from collections.abc import Callable

from green_tg_async._exceptions import StoreUnavailableError

from ._base import BreakerRecord
from ._fallback import LocalFallback, fails_open
from ._transitions import failed, opened, probed, released, succeeded

__all__ = ["Change", "SharedBreaker"]

Change = Callable[[BreakerRecord | None], BreakerRecord | None]


class SharedBreaker:
    """The breaker half of a store, built on one atomic `_update` of a record.

    A store provides `_update(key, change, keep=...)`: read the record, apply
    `change` (a pure transition), write the result (None deletes it; with
    `keep`, None writes nothing), all as one atomic step against other
    processes. Every method falls back to local state when `_fallback` is set
    and the store is down.
    """

    _fallback: LocalFallback | None = None

    async def _update(
        self, key: str, change: Change, *, keep: bool = False
    ) -> BreakerRecord | None:
        raise NotImplementedError

    async def write_back(self) -> float:
        """Write pauses kept locally while the store was down back to it.

        Returns 0 when none is left to write, else the seconds until the
        store is due for the next try. The breaker calls this on its own
        schedule, so a process that goes idle still shares its pause.
        """
        fallback = self._fallback
        if fallback is None or not fallback.pending:
            return 0.0
        if fallback.skip_store():
            return fallback.next_probe()
        try:
            await fallback.recover(self)
        except StoreUnavailableError:
            fallback.down()
            return fallback.next_probe()
        fallback.back()
        return 0.0

    @fails_open
    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        """Open until `until`, keeping a longer pause."""
        await self._update(key, lambda r: opened(r, until, reason))

    @fails_open
    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        """Count a failure; at `threshold` open until `until`."""
        record = await self._update(key, lambda r: failed(r, threshold, until, reason))
        assert record is not None  # failed() never closes
        return record

    @fails_open
    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        """Take the half-open probe lease unless it is held."""
        taken = await self._update(
            key, lambda r: probed(r, now, lease_until), keep=True
        )
        return taken is not None

    @fails_open
    async def breaker_release(self, key: str, *, lease_until: float) -> None:
        """Give back the probe lease expiring at `lease_until`, if still held."""
        await self._update(key, lambda r: released(r, lease_until), keep=True)

    @fails_open
    async def breaker_success(self, key: str, *, now: float) -> None:
        """Forget failures; close unless a pause runs past `now`."""
        await self._update(key, lambda r: succeeded(r, now))

    @fails_open
    async def breaker_reset(self, key: str) -> None:
        """Forget everything about `key`."""
        await self._update(key, lambda r: None)
