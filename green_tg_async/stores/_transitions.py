"""Pure rules of the gated admission, the look-up pace and budget windows.

Shared by every store (and the in-memory limiter) so they agree exactly.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Sequence

from ._base import (
    SLOT_POLL,
    BreakerRecord,
    Budget,
    Gate,
    GatedAdmission,
    LookupEntry,
    PaceRecord,
)

__all__ = [
    "GATE_VERDICT_LUA",
    "admit_gated",
    "budget_step",
    "gate_verdict",
    "leased",
    "lookup_step",
    "micros",
    "pace_at",
    "pace_cut",
]


def gate_verdict(
    records: tuple[BreakerRecord | None, ...], now: float
) -> tuple[int, bool]:
    """The breaker's admission rule: (index of the record refusing, must probe).

    A pause still running refuses; an expired one lets exactly one caller
    through as the probe, so another caller's unexpired lease refuses too.
    -1 when none refuses. Every store applies it: Redis through
    `GATE_VERDICT_LUA`, its copy below.
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


GATE_VERDICT_LUA = """
-- `gate_verdict` (stores/_transitions.py); records[i] = {exists, open_until,
-- probe_until}. Returns the index (from 0) of the record refusing, or -1,
-- and whether the caller must probe.
local function gate_verdict(records, now)
  local probe = false
  for i, r in ipairs(records) do
    if r[1] then
      if now < r[2] then return i - 1, false end
      if r[2] > 0 then
        if r[3] > now then return i - 1, false end
        probe = true
      end
    end
  end
  return -1, probe
end
"""


def admit_gated(
    records: tuple[BreakerRecord | None, ...],
    gate: Gate,
    book: Callable[[], float],
    lookup: Callable[[LookupEntry], float],
) -> tuple[GatedAdmission, dict[str, BreakerRecord]]:
    """A gated admission on records read, booking with `book()` if let through.

    A look-up first takes its slot and budget with `lookup(gate.lookup)`
    (its wait: not 0 books nothing). Returns what it found, and the probe
    leases to write (`leased`) when the call goes now as the probe.
    """
    refused, probe = gate_verdict(records, gate.now)
    if refused >= 0:
        return GatedAdmission(0.0, records, refused), {}  # nothing booked
    if gate.lookup is not None and (waits := lookup(gate.lookup)) > 0:
        return GatedAdmission(0.0, records, lookup_wait=waits), {}
    wait = book()
    if wait > 0 or not probe:
        return GatedAdmission(wait, records), {}
    return GatedAdmission(0.0, records, lease=True), leased(records, gate)


def leased(
    records: tuple[BreakerRecord | None, ...], gate: Gate
) -> dict[str, BreakerRecord]:
    """The records a probe let through `gate` leaves: each pause with its lease."""
    return {
        key: dataclasses.replace(record, probe_until=gate.lease_until)
        for key, record in zip(gate.keys, records, strict=True)
        if record is not None and record.open_until
    }


def micros(seconds: float) -> int:
    """`seconds` in whole microseconds, the shared stores' limiter unit."""
    return round(seconds * 1e6)


def pace_at(record: PaceRecord | None, now: float, climb: float) -> float:
    """The pace at `now`: the factor, plus `climb` per hour after `since`, <= 1."""
    if record is None:
        return 1.0
    hours = max(0.0, now - record.since) / 3600
    return min(1.0, record.factor + climb * hours)


def pace_cut(
    record: PaceRecord | None,
    now: float,
    resume_at: float,
    decrease: float,
    floor: float,
    climb: float,
) -> PaceRecord:
    """After a 469: the pace at `now` times `decrease` (at least `floor`)."""
    factor = max(floor, pace_at(record, now, climb) * decrease)
    return PaceRecord(factor, max(resume_at, record.since if record else 0.0))


def budget_step(
    logs: Sequence[deque[float]], windows: Budget, now: float, slack: float = 0.0
) -> float:
    """Record a look-up at `now` in each window's log, or return the wait.

    `logs[i]` holds the times of the last sends in `windows[i]`, oldest first;
    nothing is recorded while any window is full (a wait above `slack`).
    """
    wait = 0.0
    for log, (limit, seconds) in zip(logs, windows, strict=True):
        if len(log) >= limit:
            wait = max(wait, log[-limit] + seconds - now)
    if wait > slack:
        return wait
    for log, (limit, _) in zip(logs, windows, strict=True):
        log.append(now)
        while len(log) > limit:
            log.popleft()
    return 0.0


def lookup_step(
    slots: dict[str, float],
    logs: Sequence[deque[float]],
    entry: LookupEntry,
    now: float,
    slack: float = 0.0,
) -> float:
    """`StateStore.lookup_enter` on local state: `slots` maps ticket to lease end.

    `logs` are the budget windows' logs (see `budget_step`); `now` is in the
    clock of both. Returns the wait (0: slot taken and look-up recorded).
    """
    for ticket in entry.release:
        slots.pop(ticket, None)
    for ticket in [t for t, until in slots.items() if until <= now]:
        del slots[ticket]
    if len(slots) >= entry.cap:
        return SLOT_POLL
    wait = budget_step(logs, entry.windows, now, slack)
    if wait <= slack:
        slots[entry.ticket] = now + entry.lease
    return wait
