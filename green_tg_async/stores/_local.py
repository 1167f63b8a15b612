"""`LocalFallback`: pauses, limiter and look-ups kept in this process.

What `FailOpenStore` answers from while its primary is down.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from green_tg_async._logging import logger

from ._base import (
    BreakerRecord,
    Gate,
    GatedAdmission,
    LookupEntry,
    PaceRecord,
    SendLog,
)
from ._gate import admit_gated_stepwise
from ._transitions import (
    failed,
    lookup_step,
    opened,
    pace_cut,
    probed,
    released,
    succeeded,
)

__all__ = ["LocalFallback"]


class _Pauses(Protocol):
    async def breaker_open(self, key: str, *, until: float, reason: str) -> None: ...


class LocalFallback:
    """Breaker, limiter and cache kept in this process while the store is down.

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
        self._fraction = fraction
        self._probe_interval = probe_interval
        self._clock = clock
        self.down_until = 0.0
        self._known: dict[str, BreakerRecord | None] = {}
        self._pending: dict[str, BreakerRecord] = {}
        self._tat: dict[str, float] = {}
        self._sends: dict[str, deque[float]] = {}
        self._paces: dict[str, PaceRecord | None] = {}
        self._slots: dict[str, dict[str, float]] = {}
        self.active = False
        self.written = 0  # pauses written back since the store went down

    async def recover(self, store: _Pauses) -> None:
        """Write pauses tripped while the store was down back to it.

        Raises `StoreUnavailableError` (keeping what is not written yet) when
        the store is still down. Does not decide that the store is back: the
        caller does, once a call of its own went through.
        """
        while self._pending:
            key, record = next(iter(self._pending.items()))
            await store.breaker_open(key, until=record.open_until, reason=record.reason)
            del self._pending[key]
            self.written += 1

    @property
    def pending(self) -> bool:
        """True while pauses taken locally wait to be written to the store."""
        return bool(self._pending)

    def next_probe(self) -> float:
        """Seconds until the store is due for a probe (0: now)."""
        return max(0.0, self.down_until - self._clock()) if self.active else 0.0

    def skip_store(self) -> bool:
        """True while the store is known down and not due for a probe."""
        return self.active and self._clock() < self.down_until

    def down(self) -> None:
        """A call to the store failed: skip it for the next probe interval."""
        self.down_until = self._clock() + self._probe_interval

    def back(self) -> None:
        """The store answered a call: leave fallback mode, saying so once."""
        self.active = False
        logger.warning(
            "state store answers again; %d pause(s) kept locally written back",
            self.written,
        )
        self.written = 0

    def _set(self, key: str, record: BreakerRecord | None, *, pause: bool) -> None:
        self._known[key] = record
        if pause and record is not None and record.open_until:
            self._pending[key] = record

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        return self._known.get(key)

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        self._set(key, opened(self._known.get(key), until, reason), pause=True)

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        record = failed(self._known.get(key), threshold, until, reason)
        self._set(key, record, pause=True)
        return record

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        record = probed(self._known.get(key), now, lease_until)
        if record is not None:
            self._set(key, record, pause=False)
        return record is not None

    async def breaker_release(self, key: str, *, lease_until: float) -> None:
        record = released(self._known.get(key), lease_until)
        if record is not None:
            self._set(key, record, pause=False)

    async def breaker_success(self, key: str, *, now: float) -> None:
        self._set(key, succeeded(self._known.get(key), now), pause=False)

    async def breaker_reset(self, key: str) -> None:
        self._set(key, None, pause=False)
        self._pending.pop(key, None)

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        step = interval / self._fraction
        now = time.monotonic()
        tat = max(self._tat.get(key, 0.0), now)
        self._tat[key] = tat + step
        wait = max(0.0, tat - (burst - 1) * step - now)
        if wait > 0 or log is None:
            return wait
        return await self.limiter_enter(log.key, limit=log.limit, window=log.window)

    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog | None,
        gate: Gate,
    ) -> GatedAdmission:
        return await admit_gated_stepwise(
            self, key, interval=interval, burst=burst, log=log, gate=gate
        )

    async def limiter_enter(self, key: str, *, limit: int, window: float) -> float:
        sends = self._sends.setdefault(key, deque())
        now = time.monotonic()
        if len(sends) >= limit and (wait := sends[-limit] + window - now) > 0:
            return wait
        sends.append(now)
        while len(sends) > limit:
            sends.popleft()
        return 0.0

    async def limiter_enter_pending(self, log: SendLog) -> float:
        # Held sends are logged at once here: this process's own limiter
        # already holds them until their answer.
        return await self.limiter_enter(log.key, limit=log.limit, window=log.window)

    async def limiter_done(self, log: SendLog) -> None:
        return None

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        self._tat[key] = max(self._tat.get(key, 0.0), time.monotonic() + seconds)

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        budget = entry.budget
        logs = [
            self._sends.setdefault(f"{budget}:{s}", deque()) for _, s in entry.windows
        ]
        slots = self._slots.setdefault(entry.slots, {})
        wait = lookup_step(slots, logs, entry, time.monotonic())
        return wait, self._paces.get(entry.pace)

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        held = self._slots.get(slots, {})
        for ticket in tickets:
            held.pop(ticket, None)

    async def pace_get(self, key: str) -> PaceRecord | None:
        return self._paces.get(key)

    async def pace_cut(
        self,
        key: str,
        *,
        now: float,
        resume_at: float,
        decrease: float,
        floor: float,
        climb: float,
    ) -> PaceRecord:
        record = pace_cut(self._paces.get(key), now, resume_at, decrease, floor, climb)
        self._paces[key] = record
        return record

    async def pace_reset(self, key: str) -> None:
        self._paces[key] = None

    def seen(self, key: str, record: BreakerRecord | None) -> None:
        """The store answered `record` for `key`: what holds while it is down."""
        self._known[key] = record

    def seen_pace(self, key: str, record: PaceRecord | None) -> None:
        self._paces[key] = record
