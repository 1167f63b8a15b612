"""Pure breaker-record transitions, shared by every store so they agree exactly."""

from __future__ import annotations

import dataclasses

from ._base import BreakerRecord

__all__ = ["failed", "gate_verdict", "opened", "probed", "released", "succeeded"]

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


def gate_verdict(
    records: tuple[BreakerRecord | None, ...], now: float
) -> tuple[int, bool]:
    """(index of the record refusing a call or -1, whether it must probe).

    A pause still running refuses; an expired one lets exactly one caller
    through as the probe, so another caller's unexpired lease refuses too.
    The Redis store's Lua script applies this same rule.
    """
    probe = False
    for index, record in enumerate(records):
        if record is None:
            continue
        if now < record.open_until:
            return index, False
        if record.open_until:
            if record.probe_until > now:
                return index, False
            probe = True
    return -1, probe
