"""`LocalFallback`: pauses, limiter and look-ups kept in this process.

What `FailOpenStore` answers from while its primary is down.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from green_tg_async._logging import logger

from ._base import (
    BreakerRecord,
    Gate,
    GatedAdmission,
    LookupEntry,
    PaceRecord,
    SendLog,
    StateStore,
)
from ._transitions import admit_gated, budget_step, leased
from .memory import MemoryStore

__all__ = ["LocalFallback"]

T = TypeVar("T")


class LocalFallback(MemoryStore):
    """Breaker, limiter and look-ups kept in this process while the store is down.

    Pauses, probe leases, look-up slots, budget and pace are a `MemoryStore`'s;
    pauses taken here wait in `pending` to be written back, probe leases
    taken here are written back with them (`recover`).

    While down, calls do not touch the store at all until `down_until`; then
    one call probes it, so a store that hangs costs one timeout per
    `probe_interval` seconds, not one per call.
    """

    def __init__(
        self,
        fraction: float,
        *,
        probe_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"fallback_fraction must be in (0, 1], got {fraction}")
        if not probe_interval > 0:
            raise ValueError(f"probe_interval must be positive, got {probe_interval}")
        super().__init__()
        self._fraction = fraction
        self._probe_interval = probe_interval
        self._probe_clock = clock
        self.down_until = 0.0
        self._pending: dict[str, BreakerRecord] = {}
        self._leases: dict[str, tuple[float, float]] = {}  # key: (now, lease_until)
        self._tat: dict[str, float] = {}
        self._sends: dict[str, deque[float]] = {}
        self.active = False
        self.written = 0  # pauses written back since the store went down

    async def recover(self, store: StateStore) -> None:
        """Write what was taken while the store was down back: pauses, probe leases.

        A probe lease is written while this process still holds it, so the
        store lets no second probe through while this one is out; one that
        another caller held in the store when this one was taken (its `now`)
        is kept. Raises `StoreUnavailableError` (keeping what is not written
        yet) when the store is still down. Does not decide that the store is
        back: the caller does, once a call of its own went through.
        """
        while self._pending:
            key, record = next(iter(self._pending.items()))
            await store.breaker_open(key, until=record.open_until, reason=record.reason)
            # A concurrent recovery may have written it, or a longer pause
            # replaced it meanwhile (that one is still to write).
            if self._pending.get(key) is record:
                del self._pending[key]
                self.written += 1
        while self._leases:
            key, lease = next(iter(self._leases.items()))
            now, until = lease
            held = self._breakers.get(key)
            if held is not None and held.probe_until == until:
                await store.breaker_probe(key, now=now, lease_until=until)
            if self._leases.get(key) == lease:
                del self._leases[key]

    @property
    def pending(self) -> bool:
        """True while pauses taken locally wait to be written to the store."""
        return bool(self._pending)

    def next_probe(self) -> float:
        """Seconds until the store, known down, is due for a probe (0: now)."""
        return max(0.0, self.down_until - self._probe_clock()) if self.active else 0.0

    def down(self) -> None:
        """A call to the store failed: skip it for the next probe interval."""
        self.down_until = self._probe_clock() + self._probe_interval

    def back(self) -> None:
        """The store answered a call: leave fallback mode, saying so once."""
        self.active = False
        logger.warning(
            "state store answers again; %d pause(s) kept locally written back",
            self.written,
        )
        self.written = 0

    def _pause(self, key: str) -> None:
        record = self._breakers.get(key)
        if record is not None and record.open_until:
            self._pending[key] = record

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        await super().breaker_open(key, until=until, reason=reason)
        self._pause(key)

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        record = await super().breaker_failure(
            key, threshold=threshold, until=until, reason=reason
        )
        self._pause(key)
        return record

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        taken = await super().breaker_probe(key, now=now, lease_until=lease_until)
        if taken:
            self._leases[key] = (now, lease_until)
        return taken

    async def breaker_reset(self, key: str) -> None:
        await super().breaker_reset(key)
        self._pending.pop(key, None)

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        return self._book(key, interval, burst, log)

    def _book(
        self, key: str, interval: float, burst: int, log: SendLog | None
    ) -> float:
        step = interval / self._fraction
        now = time.monotonic()
        tat = max(self._tat.get(key, 0.0), now)
        self._tat[key] = tat + step
        wait = max(0.0, tat - (burst - 1) * step - now)
        if wait > 0 or log is None:
            return wait
        return self._enter(log.key, log.limit, log.window)

    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog,
        gate: Gate,
    ) -> GatedAdmission:
        records = tuple(self._breakers.get(k) for k in gate.keys)
        found, leases = admit_gated(
            records, gate, lambda: self._book(key, interval, burst, log), self._lookup
        )
        self._breakers.update(leases)
        self._leases.update(dict.fromkeys(leases, (gate.now, gate.lease_until)))
        if gate.lookup is None:
            return found
        return found._replace(pace=self._paces.get(gate.lookup.pace))

    def _enter(self, key: str, limit: int, window: float) -> float:
        sends = self._sends.setdefault(key, deque())
        return budget_step([sends], ((limit, window),), time.monotonic())

    async def limiter_enter_pending(self, log: SendLog) -> float:
        # Held sends are logged at once here: this process's own limiter
        # already holds them until their answer.
        return self._enter(log.key, log.limit, log.window)

    async def limiter_done(self, log: SendLog) -> None:
        return None

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        self._tat[key] = max(self._tat.get(key, 0.0), time.monotonic() + seconds)

    def seen(self, record: BreakerRecord | None, key: str, **_: object) -> None:
        """The store answered `record` for `key`: what holds while it is down."""
        _keep(self._breakers, key, record)

    def seen_gated(
        self, found: GatedAdmission, key: str, *, gate: Gate, **_: object
    ) -> None:
        """The store answered a gated admission: the breaker records it left.

        Those it read, with the probe lease when the call took it: a lease
        taken here or by the store still holds while the store is down.
        """
        after = leased(found.records, gate) if found.lease else {}
        for breaker, record in zip(gate.keys, found.records, strict=True):
            _keep(self._breakers, breaker, after.get(breaker, record))

    def seen_pace(self, record: PaceRecord | None, key: str, **_: object) -> None:
        """The store answered this pace for `key`."""
        _keep(self._paces, key, record)

    def seen_lookup(
        self, found: tuple[float, PaceRecord | None], entry: LookupEntry
    ) -> None:
        """The store answered a look-up's entry: the pace it read."""
        _keep(self._paces, entry.pace, found[1])


def _keep(table: dict[str, T], key: str, value: T | None) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value
