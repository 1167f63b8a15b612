"""Per-instance circuit breaker (closed / open / half-open) over a `StateStore`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from ._config import BreakerPolicy
from ._exceptions import (
    APIConnectionError,
    CircuitOpenError,
    ContactInfoLimitError,
    ServerError,
    StoreUnavailableError,
)
from ._logging import logger
from ._methods import MethodSpec
from ._process import HeldPause, local_pauses
from ._singleflight import SingleFlight
from .stores import BreakerRecord, MemoryStore, PaceRecord, StateStore
from .stores._base import Gate, GatedAdmission, WritesBack
from .stores._transitions import gate_verdict, pace_at

__all__ = ["Admission", "BreakerState", "CircuitBreaker"]

_HALF_OPEN_REASON = "another caller is probing the instance after a pause"

Admission: TypeAlias = tuple[tuple[str, ...], float]
"""What `admit()` let through: the keys to report to `record()`, and the probe
lease it took (its expiry; 0.0 when it took none)."""

_NOT_TRACKED: Final[Admission] = ((), 0.0)
# A pause the store would not take is written again, with growing waits.
_PERSIST_FIRST_DELAY: Final = 0.05
_PERSIST_MAX_DELAY: Final = 5.0
_DRAIN_SECONDS: Final = 10.0
# Stands for every contact look-up when reading the pace for `state()`.
_ANY_LOOKUP: Final = MethodSpec(
    "checkAccount", "POST", idempotent=True, contact_lookup=True
)


@dataclass(frozen=True, slots=True)
class BreakerState:
    """A snapshot of an instance's breaker, as `tg.breaker.state()` returns it."""

    is_open: bool
    """True while calls are refused locally."""

    reason: str | None
    """Why it opened, or None when it is closed."""

    retry_at: datetime | None
    """When calls are allowed again (aware UTC), or None when closed."""

    consecutive_failures: int
    """Connection errors or 5xx answers in a row, counted toward the threshold."""

    pace: float = 1.0
    """Fraction of the configured rate contact look-ups run at now: below 1
    after a 469 (`BreakerPolicy.adaptive_pace`), climbing back to 1."""


Observer = Callable[[str, str, float | None, str | None], None]
"""Told (state, method, until, reason) when the breaker opens or closes."""


class CircuitBreaker:
    """The breaker of one instance; shared by every client through the store.

    Two rules open it: a 469 pauses the instance (or only its contact look-ups)
    for `pause_seconds`, and `failure_threshold` connection errors or 5xx in a
    row open it for `cooldown_seconds`. After the deadline one caller gets the
    half-open probe; its outcome closes the breaker or opens it again.
    """

    def __init__(self, id_instance: str, policy: BreakerPolicy, store: StateStore):
        self._id = id_instance
        self._policy = policy
        self._store = store
        self._reads: SingleFlight[str, BreakerRecord | None] = SingleFlight()
        self._instance_key = f"{{{id_instance}}}:breaker"
        self._lookup_key = f"{{{id_instance}}}:breaker:contact_lookups"
        self._instance_keys = (self._instance_key,)
        self._lookup_keys = (self._instance_key, self._lookup_key)
        self._local = local_pauses(store)
        self._pace_key = f"{{{id_instance}}}:pace:contact_lookups"
        self._tasks: set[asyncio.Task[None]] = set()
        self.observers: list[Observer] = []
        """Called as (state, method, until, reason) when it opens or closes."""
        self.on_pace: Callable[[PaceRecord | None], None] = lambda record: None
        """Told the look-up pace this breaker cut or reset (`LookupGovernor`)."""

    def _notify(
        self, state: str, method: str, until: float | None, reason: str | None
    ) -> None:
        for observer in self.observers:
            observer(state, method, until, reason)

    @property
    def policy(self) -> BreakerPolicy:
        """The policy it applies (its `clock` is the one pauses are kept in)."""
        return self._policy

    def _keys(self, spec: MethodSpec) -> tuple[str, ...]:
        if self._policy.scope == "contact_lookups" and spec.contact_lookup:
            return self._lookup_keys
        return self._instance_keys

    async def check(self, spec: MethodSpec) -> None:
        """Refuse the method while a pause runs; free of side effects."""
        if not self._policy.enabled:
            return
        records = [await self._read(k) for k in self._refuse_if_paused_here(spec)]
        self._verdict(tuple(records), self._policy.clock(), spec.name)

    def signal(self, spec: MethodSpec) -> asyncio.Future[None]:
        """A future that is done as soon as this process pauses the method.

        Callers queued at the limiter wait on it, so a 469 wakes all of them
        at once instead of one per rate slot.
        """
        return self._local.signal(self._keys(spec))

    def _refuse_if_paused_here(self, spec: MethodSpec) -> tuple[str, ...]:
        """Refuse at once on a pause this process holds; else the keys to read."""
        keys = self._keys(spec)
        now = self._policy.clock()
        for key in keys:
            record = self._local.get(key, now)
            if record is not None:
                raise self._refusal(record.reason, record.open_until, spec.name)
        return keys

    def _verdict(
        self, records: tuple[BreakerRecord | None, ...], now: float, method: str
    ) -> bool:
        """Raise the refusal `gate_verdict` gives; else True if this must probe."""
        refused, probe = gate_verdict(records, now)
        if refused < 0:
            return probe
        record = records[refused]
        assert record is not None  # only a record refuses
        if now < record.open_until:
            raise self._refusal(record.reason, record.open_until, method)
        raise self._refusal(_HALF_OPEN_REASON, record.probe_until, method)

    async def _read(self, key: str) -> BreakerRecord | None:
        """Read `key`, sharing one read between concurrent callers.

        A burst of calls (say 50 tasks started at once) would otherwise send
        50 identical reads to a shared store at the same moment, delaying the
        sends that are due first. The process-local store needs no sharing.
        """
        if isinstance(self._store, MemoryStore):
            return await self._store.breaker_get(key)
        return await self._reads.run(key, lambda: self._store.breaker_get(key))

    async def admit(self, spec: MethodSpec) -> Admission:
        """Let the method through just before it is sent.

        When a pause has expired, only the caller that wins the probe lease is
        let through. Pass what this returns to `record()` once the attempt
        has an outcome, or to `abandon()` if it ends without one.
        """
        if not self._policy.enabled:
            return _NOT_TRACKED
        keys = self._refuse_if_paused_here(spec)
        records = tuple([await self._store.breaker_get(k) for k in keys])
        now = self._policy.clock()
        seen = _seen(keys, records)
        if not self._verdict(records, now, spec.name):
            return seen, 0.0
        lease_until = now + self._policy.probe_lease_seconds
        for key, record in zip(keys, records, strict=True):
            if record is not None and record.open_until:
                probe = self._store.breaker_probe
                if not await probe(key, now=now, lease_until=lease_until):
                    raise self._refusal(_HALF_OPEN_REASON, lease_until, spec.name)
        logger.warning("instance %s: half-open, probing with %s", self._id, spec.name)
        return seen, lease_until

    def gate(self, spec: MethodSpec) -> Gate | None:
        """The breaker's part of a gated admission, or None when it is off.

        Refuses at once on a pause this process holds; the store reads the
        rest in the limiter's round trip (`admitted()` reads its answer).
        """
        if not self._policy.enabled:
            return None
        keys = self._refuse_if_paused_here(spec)
        now = self._policy.clock()
        return Gate(keys, now, now + self._policy.probe_lease_seconds)

    def admitted(
        self, spec: MethodSpec, gate: Gate, found: GatedAdmission
    ) -> Admission:
        """The admission of a gated booking, or its refusal raised."""
        method = spec.name
        if found.refused >= 0:  # the store applied the same rule
            self._verdict(found.records, gate.now, method)
        if found.lease:
            logger.warning("instance %s: half-open, probing with %s", self._id, method)
        seen = _seen(gate.keys, found.records)
        return seen, gate.lease_until if found.lease else 0.0

    def _refusal(self, reason: str, until: float, method: str) -> CircuitOpenError:
        retry_at = datetime.fromtimestamp(until, tz=UTC)
        return CircuitOpenError(self._id, reason, retry_at, method=method)

    async def record(
        self, spec: MethodSpec, admission: Admission, error: BaseException | None
    ) -> None:
        """Feed the outcome of one sent attempt into the breaker.

        Never raises: the outcome belongs to the caller. A 469 holds in this
        process at once and reaches the store in a task of the breaker's own,
        retried until the store takes it, so neither a store hiccup nor the
        caller's cancellation can lose it. Any other outcome the store cannot
        take is logged and dropped (it only feeds the failure count).
        """
        method = spec.name
        if not self._policy.enabled:
            return
        if isinstance(error, ContactInfoLimitError):
            await self._pause(method, error.message)
            return
        try:
            if isinstance(error, APIConnectionError | ServerError):
                await self._fail(method, error)
            else:
                # Any other answer (2xx, 4xx) proves the instance is reachable.
                now = self._policy.clock()
                for key in admission[0]:
                    await self._store.breaker_success(key, now=now)
                if admission[1]:  # this was the half-open probe
                    self._notify("closed", method, None, None)
        except StoreUnavailableError as exc:
            logger.warning(
                "instance %s: the outcome of %s was not recorded in the state "
                "store: %s",
                self._id,
                method,
                exc,
            )

    def abandon(self, admission: Admission) -> None:
        """Give back the probe lease of an attempt that ended without an outcome.

        Called when the caller was cancelled mid-attempt; otherwise every caller
        would be refused as "another caller is probing" until the lease ran out.
        """
        keys, lease = admission
        if lease:
            self._spawn(self._release(keys, lease))

    async def _release(self, keys: tuple[str, ...], lease: float) -> None:
        try:
            for key in keys:
                await self._store.breaker_release(key, lease_until=lease)
        except StoreUnavailableError as exc:
            logger.warning("instance %s: probe lease kept: %s", self._id, exc)

    async def pace(self, spec: MethodSpec) -> float:
        """The fraction of its configured rate `spec` may run at now.

        Below 1 only for contact look-ups after a 469 (`adaptive_pace`).
        Reads the store, where every process finds the same pace.
        """
        adaptive = self._policy.adaptive_pace
        if not spec.contact_lookup or adaptive is None or not self._policy.enabled:
            return 1.0
        record = await self._store.pace_get(self._pace_key)
        return pace_at(record, self._policy.clock(), adaptive.climb_per_hour)

    async def _slow_down(self, now: float, resume_at: float) -> None:
        """A 469: cut the look-up pace in the store (never raises)."""
        adaptive = self._policy.adaptive_pace
        if adaptive is None:
            return
        try:
            record = await self._store.pace_cut(
                self._pace_key,
                now=now,
                resume_at=resume_at,
                decrease=adaptive.decrease,
                floor=adaptive.floor,
                climb=adaptive.climb_per_hour,
            )
        except StoreUnavailableError as exc:
            logger.error("instance %s: look-up pace not cut: %s", self._id, exc)
            return
        self.on_pace(record)
        logger.warning(
            "instance %s: contact look-ups resume at %.0f %% of their rate",
            self._id,
            record.factor * 100,
        )

    async def _pause(self, method: str, reason: str) -> None:
        lookups_only = self._policy.scope == "contact_lookups"
        key = self._lookup_key if lookups_only else self._instance_key
        now = self._policy.clock()
        until = now + self._policy.pause_seconds
        self._local.open(key, until, reason)  # refused here from now on
        self._notify("open", method, until, reason)
        logger.warning(
            "instance %s: 469 on %s, pausing %s for %.0f s",
            self._id,
            method,
            "contact look-ups" if lookups_only else "every call",
            self._policy.pause_seconds,
        )
        first_try = asyncio.get_running_loop().create_future()
        self._spawn(self._persist(key, until, reason, first_try))
        # Wait for the first write only; shielded, so a cancelled caller
        # leaves the write running.
        await asyncio.shield(first_try)
        # The pace cut is the breaker's too: a cancelled caller cannot lose it.
        await asyncio.shield(self._spawn(self._slow_down(now, until)))

    async def _persist(
        self, key: str, until: float, reason: str, first_try: asyncio.Future[None]
    ) -> None:
        """Write a pause to the store, again and again until it is taken.

        A fail-open store takes the pause locally while it is down: it is then
        probed until it writes the pause back (else only a later call of this
        process would).
        """
        delay = _PERSIST_FIRST_DELAY
        while True:
            try:
                await self._store.breaker_open(key, until=until, reason=reason)
                self._local.clear(key, until)  # the store speaks for it now
                break
            except Exception as exc:
                logger.error(
                    "instance %s: pause not written to the state store yet (%s); "
                    "this process holds it and retries in %.2f s",
                    self._id,
                    exc,
                    delay,
                )
            finally:
                if not first_try.done():
                    first_try.set_result(None)
            if self._policy.clock() >= until:
                return  # over before the store came back: nothing to share
            await asyncio.sleep(delay)
            delay = min(delay * 2, _PERSIST_MAX_DELAY)
        store = self._store
        while isinstance(store, WritesBack) and (wait := await store.write_back()) > 0:
            if self._policy.clock() >= until:
                return  # over before the store came back: nothing to share
            await asyncio.sleep(wait)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait (up to 10 s) for pauses and lease releases to reach the store."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=_DRAIN_SECONDS)
        if pending:
            logger.error(
                "instance %s: %d breaker write(s) still waiting for the state "
                "store after %.0f s; other processes may not see this pause",
                self._id,
                len(pending),
                _DRAIN_SECONDS,
            )

    async def _fail(self, method: str, error: APIConnectionError | ServerError) -> None:
        policy = self._policy
        record = await self._store.breaker_failure(
            self._instance_key,
            threshold=policy.failure_threshold,
            until=policy.clock() + policy.cooldown_seconds,
            reason=f"{policy.failure_threshold} failures in a row, last: {error}",
        )
        if record.failures >= policy.failure_threshold:
            self._notify("open", method, record.open_until, record.reason)
            logger.warning(
                "instance %s: %d failures in a row, breaker open for %.0f s",
                self._id,
                record.failures,
                policy.cooldown_seconds,
            )

    async def state(self) -> BreakerState:
        """Return the current state (the longest pause if two scopes are open)."""
        now = self._policy.clock()
        records = [
            _later(await self._store.breaker_get(k), self._local.get(k, now))
            for k in self._lookup_keys
        ]
        failures = records[0].failures if records[0] else 0
        pace = await self.pace(_ANY_LOOKUP)
        open_ = [r for r in records if r is not None and r.open_until > now]
        if not open_:
            return BreakerState(False, None, None, failures, pace)
        longest = max(open_, key=lambda r: r.open_until)
        retry_at = datetime.fromtimestamp(longest.open_until, tz=UTC)
        return BreakerState(True, longest.reason, retry_at, failures, pace)

    async def reset(self) -> None:
        """Close the breaker by hand, in every process that shares the store.

        The learned look-up pace goes back to the full rate too.
        """
        for key in self._lookup_keys:
            self._local.clear(key)
            await self._store.breaker_reset(key)
        await self._store.pace_reset(self._pace_key)
        self.on_pace(None)
        logger.warning("instance %s: breaker reset by hand", self._id)
        self._notify("closed", "", None, "reset by hand")

    def __repr__(self) -> str:
        return (
            f"<CircuitBreaker instance={self._id} scope={self._policy.scope} "
            f"store={type(self._store).__name__}>"
        )


def _seen(
    keys: tuple[str, ...], records: tuple[BreakerRecord | None, ...]
) -> tuple[str, ...]:
    """The keys that have a record (the ones `record()` reports to)."""
    if records.count(None) == len(records):
        return ()
    return tuple(k for k, r in zip(keys, records, strict=True) if r is not None)


def _later(
    stored: BreakerRecord | None, local: HeldPause | None
) -> BreakerRecord | None:
    """The store's record, unless this process holds a longer pause."""
    if local is None or (stored is not None and stored.open_until >= local.open_until):
        return stored
    failures = stored.failures if stored is not None else 0
    return BreakerRecord(local.open_until, local.reason, failures)
