"""The breaker methods of every store, each one atomic `_update` of a record."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ._base import BreakerRecord

__all__ = ["Change", "SharedBreaker"]

Change = Callable[[BreakerRecord | None], BreakerRecord | None]

_CLOSED = BreakerRecord()


def opened(record: BreakerRecord | None, until: float, reason: str) -> BreakerRecord:
    """Open until `until`; a pause already running longer is kept (max)."""
    record = record or _CLOSED
    if until <= record.open_until:
        return record
    return dataclasses.replace(record, open_until=until, reason=reason, probe_until=0.0)


def failed(
    record: BreakerRecord | None, threshold: int, until: float, reason: str
) -> BreakerRecord:
    """Count one failure; at `threshold` in a row, open until `until`."""
    record = record or _CLOSED
    record = dataclasses.replace(record, failures=record.failures + 1)
    if record.failures < threshold:
        return record
    return opened(record, until, reason)


def probed(
    record: BreakerRecord | None, now: float, lease_until: float
) -> BreakerRecord | None:
    """Take the probe lease; None when another caller still holds it."""
    record = record or _CLOSED
    if record.probe_until > now:
        return None
    return dataclasses.replace(record, probe_until=lease_until)


def released(record: BreakerRecord | None, lease_until: float) -> BreakerRecord | None:
    """Drop the probe lease that expires at `lease_until`; None if it is not held."""
    if record is None or record.probe_until != lease_until:
        return None
    return dataclasses.replace(record, probe_until=0.0)


def succeeded(record: BreakerRecord | None, now: float) -> BreakerRecord | None:
    """Forget failures; None (close) unless a pause still runs past `now`."""
    if record is None or record.open_until <= now:
        return None
    return dataclasses.replace(record, failures=0)


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
