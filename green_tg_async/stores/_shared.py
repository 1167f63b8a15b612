"""The breaker methods of every store, each one atomic `_update` of a record."""

from __future__ import annotations

from collections.abc import Callable

from ._base import BreakerRecord
from ._transitions import failed, opened, probed, released, succeeded

__all__ = ["Change", "SharedBreaker"]

Change = Callable[[BreakerRecord | None], BreakerRecord | None]


class SharedBreaker:
    """The breaker half of a store, built on one atomic `_update` of a record.

    A store provides `_update(key, change, keep=...)`: read the record, apply
    `change` (a pure transition), write the result (None deletes it; with
    `keep`, None writes nothing), all as one atomic step against every
    other caller. The protocol (`StateStore`) documents each method.
    """

    async def _update(
        self, key: str, change: Change, *, keep: bool = False
    ) -> BreakerRecord | None:
        raise NotImplementedError

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        await self._update(key, lambda r: opened(r, until, reason))

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        record = await self._update(key, lambda r: failed(r, threshold, until, reason))
        assert record is not None  # failed() never closes
        return record

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        taken = await self._update(
            key, lambda r: probed(r, now, lease_until), keep=True
        )
        return taken is not None

    async def breaker_release(self, key: str, *, lease_until: float) -> None:
        await self._update(key, lambda r: released(r, lease_until), keep=True)

    async def breaker_success(self, key: str, *, now: float) -> None:
        await self._update(key, lambda r: succeeded(r, now))

    async def breaker_reset(self, key: str) -> None:
        await self._update(key, lambda r: None)
