"""Per-instance circuit breaker (closed / open / half-open) over a `StateStore`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ._config import CONTACT_LOOKUP_METHODS, BreakerPolicy
from ._exceptions import (
    APIConnectionError,
    CircuitOpenError,
    ContactInfoLimitError,
    ServerError,
)
from ._logging import logger
from ._singleflight import SingleFlight
from .stores import BreakerRecord, MemoryStore, StateStore

__all__ = ["BreakerState", "CircuitBreaker"]

_HALF_OPEN_REASON = "another caller is probing the instance after a pause"


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

    def _keys(self, method: str) -> tuple[str, ...]:
        if self._policy.scope == "contact_lookups" and method in CONTACT_LOOKUP_METHODS:
            return (self._instance_key, self._lookup_key)
        return (self._instance_key,)

    async def check(self, method: str) -> None:
        """Refuse `method` while a pause runs; free of side effects."""
        if not self._policy.enabled:
            return
        for key in self._keys(method):
            record = await self._read(key)
            if record is not None:
                self._refuse_if_open(record, method, self._policy.clock())

    async def _read(self, key: str) -> BreakerRecord | None:
        """Read `key`, sharing one read between concurrent callers.

        A burst of calls (say 50 tasks started at once) would otherwise send
        50 identical reads to a shared store at the same moment, delaying the
        sends that are due first. The process-local store needs no sharing.
        """
        if isinstance(self._store, MemoryStore):
            return await self._store.breaker_get(key)
        return await self._reads.run(key, lambda: self._store.breaker_get(key))

    async def admit(self, method: str) -> tuple[str, ...]:
        """Let `method` through just before it is sent; return keys to report.

        When a pause has expired, only the caller that wins the probe lease is
        let through; the keys it returns must be passed to `record()`.
        """
        if not self._policy.enabled:
            return ()
        seen: list[str] = []
        for key in self._keys(method):
            record = await self._store.breaker_get(key)
            if record is not None:
                await self._admit_key(key, record, method)
                seen.append(key)
        return tuple(seen)

    async def _admit_key(self, key: str, record: BreakerRecord, method: str) -> None:
        now = self._policy.clock()
        self._refuse_if_open(record, method, now)
        if record.open_until == 0.0:
            return  # closed, only failures counted so far
        lease_until = now + self._policy.probe_lease_seconds
        if not await self._store.breaker_probe(key, now=now, lease_until=lease_until):
            raise self._refusal(_HALF_OPEN_REASON, lease_until, method)
        logger.warning("instance %s: half-open, probing with %s", self._id, method)

    def _refuse_if_open(self, record: BreakerRecord, method: str, now: float) -> None:
        if now < record.open_until:
            raise self._refusal(record.reason, record.open_until, method)
        if record.open_until and now < record.probe_until:
            raise self._refusal(_HALF_OPEN_REASON, record.probe_until, method)

    def _refusal(self, reason: str, until: float, method: str) -> CircuitOpenError:
        retry_at = datetime.fromtimestamp(until, tz=UTC)
        return CircuitOpenError(self._id, reason, retry_at, method=method)

    async def record(
        self, method: str, keys: Sequence[str], error: BaseException | None
    ) -> None:
        """Feed the outcome of one sent attempt into the breaker."""
        if not self._policy.enabled:
            return
        if isinstance(error, ContactInfoLimitError):
            await self._pause(method, error.message)
        elif isinstance(error, APIConnectionError | ServerError):
            await self._fail(error)
        elif keys:
            # Any other answer (2xx, 4xx) proves the instance is reachable.
            now = self._policy.clock()
            for key in keys:
                await self._store.breaker_success(key, now=now)

    async def _pause(self, method: str, reason: str) -> None:
        lookups_only = self._policy.scope == "contact_lookups"
        key = self._lookup_key if lookups_only else self._instance_key
        until = self._policy.clock() + self._policy.pause_seconds
        await self._store.breaker_open(key, until=until, reason=reason)
        logger.warning(
            "instance %s: 469 on %s, pausing %s for %.0f s",
            self._id,
            method,
            "contact look-ups" if lookups_only else "every call",
            self._policy.pause_seconds,
        )

    async def _fail(self, error: APIConnectionError | ServerError) -> None:
        policy = self._policy
        record = await self._store.breaker_failure(
            self._instance_key,
            threshold=policy.failure_threshold,
            until=policy.clock() + policy.cooldown_seconds,
            reason=f"{policy.failure_threshold} failures in a row, last: {error}",
        )
        if record.failures >= policy.failure_threshold:
            logger.warning(
                "instance %s: %d failures in a row, breaker open for %.0f s",
                self._id,
                record.failures,
                policy.cooldown_seconds,
            )

    async def state(self) -> BreakerState:
        """Return the current state (the longest pause if two scopes are open)."""
        records = [await self._store.breaker_get(k) for k in self._all_keys()]
        now = self._policy.clock()
        failures = records[0].failures if records[0] else 0
        open_ = [r for r in records if r is not None and r.open_until > now]
        if not open_:
            return BreakerState(False, None, None, failures)
        longest = max(open_, key=lambda r: r.open_until)
        retry_at = datetime.fromtimestamp(longest.open_until, tz=UTC)
        return BreakerState(True, longest.reason, retry_at, failures)

    async def reset(self) -> None:
        """Close the breaker by hand, in every process that shares the store."""
        for key in self._all_keys():
            await self._store.breaker_reset(key)
        logger.warning("instance %s: breaker reset by hand", self._id)

    def _all_keys(self) -> tuple[str, str]:
        return (self._instance_key, self._lookup_key)

    def __repr__(self) -> str:
        return (
            f"<CircuitBreaker instance={self._id} scope={self._policy.scope} "
            f"store={type(self._store).__name__}>"
        )
