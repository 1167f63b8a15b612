"""A gated admission done step by step, for stores that cannot do it in one trip."""

from __future__ import annotations

from typing import Protocol

from ._base import BreakerRecord, Gate, GatedAdmission, SendLog
from ._transitions import gate_verdict

__all__ = ["admit_gated_stepwise"]


class _Steps(Protocol):
    async def breaker_get(self, key: str) -> BreakerRecord | None: ...

    async def breaker_probe(
        self, key: str, *, now: float, lease_until: float
    ) -> bool: ...

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float: ...


async def admit_gated_stepwise(
    store: _Steps,
    key: str,
    *,
    interval: float,
    burst: int,
    log: SendLog | None,
    gate: Gate,
) -> GatedAdmission:
    """`GatedLimiterStore.limiter_admit_gated` from the store's single steps."""
    records = tuple([await store.breaker_get(k) for k in gate.keys])
    refused, probe = gate_verdict(records, gate.now)
    if refused >= 0:
        return GatedAdmission(0.0, records, refused)
    wait = await store.limiter_admit(key, interval=interval, burst=burst, log=log)
    if wait > 0 or not probe:
        return GatedAdmission(wait, records)
    expired = [
        k
        for k, record in zip(gate.keys, records, strict=True)
        if record is not None and record.open_until
    ]
    for k in expired:
        if not await store.breaker_probe(k, now=gate.now, lease_until=gate.lease_until):
            return GatedAdmission(0.0, records, gate.keys.index(k))
    return GatedAdmission(0.0, records, lease=True)
