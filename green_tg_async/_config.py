"""Policies (frozen value objects) and the documented per-method rate table."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from ._methods import METHODS

__all__ = [
    "CONTACT_LOOKUP_METHODS",
    "DEFAULT_TIMEOUT",
    "DOCUMENTED_RATES",
    "AdaptivePace",
    "BreakerPolicy",
    "LookupBudget",
    "RateLimits",
    "RetryPolicy",
    "SendPolicy",
]

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds for connect, read, write and pool waits unless the caller says otherwise."""

# Requests per second per instance and method, from the method table (the
# ratelimiter page, https://green-api.com/en/telegram/docs/api/ratelimiter/).
# Methods without a documented figure are left out, so they get
# `RateLimits.default`.
DOCUMENTED_RATES: Final[Mapping[str, float]] = MappingProxyType(
    {name: spec.rate for name, spec in METHODS.items() if spec.rate is not None}
)

CONTACT_LOOKUP_METHODS: Final = frozenset(
    name for name, spec in METHODS.items() if spec.contact_lookup
)
"""Methods a `scope="contact_lookups"` pause applies to: the number look-ups."""

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class LookupBudget:
    """At most so many contact look-ups of an instance per minute, hour and day.

    The look-up methods count together, in sliding windows shared through
    the store (like the send log); a look-up waits for room, never fails.
    None leaves a window out. The default day of 1,000 is the Telegram
    Business plan's 30,000 `checkAccount` calls a month spread over 30 days
    (https://green-api.com/en/telegram/docs/about-tariffs); GREEN-API gives
    no figure for the minute or the hour. Example::

        RateLimits(lookup_budget=LookupBudget(per_minute=20, per_hour=300))
    """

    per_minute: int | None = None
    """Look-ups in any 60 s."""

    per_hour: int | None = None
    """Look-ups in any 3,600 s."""

    per_day: int | None = 1000
    """Look-ups in any 86,400 s."""

    def __post_init__(self) -> None:
        for name in ("per_minute", "per_hour", "per_day"):
            _require_count(name, getattr(self, name), optional=True)

    @property
    def windows(self) -> tuple[tuple[int, float], ...]:
        """The windows in force, as (look-ups, seconds)."""
        spans = [(self.per_minute, 60.0), (self.per_hour, 3600.0)]
        spans.append((self.per_day, 86400.0))
        return tuple((n, seconds) for n, seconds in spans if n is not None)


@dataclass(frozen=True, slots=True)
class AdaptivePace:
    """How contact look-ups slow down after a 469 and speed up again (AIMD).

    A 469 multiplies the instance's look-up pace by `decrease`; from the end
    of its pause the pace climbs by `climb_per_hour` of the configured rate
    per hour while no 469 comes, back to the full rate. The pace is kept in
    the store, so every process and a restart honour it. The defaults halve
    the rate (as a 469's "too many numbers in a few minutes" asks) and climb
    back from half to full in 5 hours after the 2-hour pause.
    """

    decrease: float = 0.5
    """Factor a 469 applies to the current pace, in (0, 1)."""

    climb_per_hour: float = 0.1
    """Fraction of the configured rate won back per hour without a 469."""

    floor: float = 0.0625
    """The pace never drops below this fraction (four 469s in a row)."""

    def __post_init__(self) -> None:
        for name in ("decrease", "floor"):
            value = getattr(self, name)
            _require_positive(name, value)
            if not value < 1:
                raise ValueError(f"{name} must be below 1, got {value!r}")
        _require_positive("climb_per_hour", self.climb_per_hour, or_zero=True)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per-instance request rates, one bucket per (instance, method).

    Example::

        RateLimits(per_method={"checkAccount": 10})  # 10/s; the rest as documented
    """

    per_method: Mapping[str, float] = field(default_factory=dict)
    """Overrides on top of `DOCUMENTED_RATES`, in requests per second."""

    default: float = 1.0
    """Rate for methods with no documented limit."""

    burst: int = 1
    """Requests allowed back to back; 1 means a schedule 1/rate seconds apart.

    Clients of one instance that ask for different rates or bursts share one
    bucket per method at the stricter of each (logged once at WARNING)."""

    enabled: bool = True
    """False turns the limiter off (the breaker and retries still apply)."""

    shared_margin: float = 0.015
    """Extra spacing (a fraction of 1/rate) when a store shares the limiter
    between processes: their timer lateness cannot be corrected locally, so
    1.5 % leaves room for ~15 ms of jitter before the one-second send log
    has to hold a call back."""

    lookups_in_flight: int | None = 1
    """Contact look-ups (`CONTACT_LOOKUP_METHODS`) of one instance on the wire
    at once, across every process sharing the store (a lease in it); None
    lifts the cap. With 1, a burst of checks meets a 469 with exactly one
    request, at any latency."""

    lookup_budget: LookupBudget | None = field(default_factory=LookupBudget)
    """Sliding windows for the contact look-ups together; None for none."""

    def __post_init__(self) -> None:
        if not isinstance(self.lookup_budget, LookupBudget | None):
            raise TypeError("lookup_budget must be a LookupBudget or None")
        _require_count("lookups_in_flight", self.lookups_in_flight, optional=True)
        if not 0 <= self.shared_margin < 1:
            raise ValueError(
                f"shared_margin must be in [0, 1), got {self.shared_margin}"
            )
        for method, rate in self.per_method.items():
            _require_positive(f"per_method[{method!r}]", rate)
        _require_positive("default", self.default)
        _require_count("burst", self.burst)

    def rate_for(self, method: str) -> float:
        """Return the configured requests per second for `method`."""
        rate = self.per_method.get(method)
        return DOCUMENTED_RATES.get(method, self.default) if rate is None else rate


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """How the per-instance circuit breaker reacts to 469s and to failures."""

    pause_seconds: float = 7200.0
    """Pause after a 469 ("User get contact info limit reached"): two hours."""

    scope: Literal["instance", "contact_lookups"] = "instance"
    """Pause every call of the instance, or only `CONTACT_LOOKUP_METHODS`."""

    failure_threshold: int = 5
    """Consecutive connection errors or 5xx answers that open the breaker."""

    cooldown_seconds: float = 30.0
    """How long the failure rule keeps it open before one probe is let through."""

    probe_lease_seconds: float = 60.0
    """How long a half-open probe holds its lease before another caller may probe."""

    enabled: bool = True
    """False never refuses a call locally (a 469 still raises its error)."""

    clock: Clock = time.time
    """Wall clock in epoch seconds; pauses are stored in it so processes agree."""

    adaptive_pace: AdaptivePace | None = field(default_factory=AdaptivePace)
    """How look-ups slow after a 469 and recover; None keeps the full rate."""

    def __post_init__(self) -> None:
        for name in ("pause_seconds", "cooldown_seconds", "probe_lease_seconds"):
            _require_positive(name, getattr(self, name))
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.scope not in ("instance", "contact_lookups"):
            raise ValueError(
                f"scope must be 'instance' or 'contact_lookups', got {self.scope!r}"
            )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Which failed attempts are repeated, and how long to wait between them."""

    max_attempts: int = 3
    """Attempts in total, the first included; 1 turns retries off."""

    initial_delay: float = 0.5
    """First back-off in seconds; it doubles with jitter each attempt."""

    max_delay: float = 30.0
    """Ceiling for the exponential back-off."""

    retry_after_cap: float = 60.0
    """Longest `Retry-After` we honour; longer values are cut to this."""

    sleep: Sleep = asyncio.sleep
    """Awaitable sleep used between attempts; inject a fake one in tests."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("initial_delay", "max_delay", "retry_after_cap"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def delay(self, failures: int, *, cap: float | None = None) -> float:
        """Seconds to wait after `failures` failures in a row (1 or more).

        The one back-off of the library (retries, notification polling, the
        bot): `initial_delay` doubling per failure, capped at `cap` (default
        `max_delay`), plus up to `initial_delay` of jitter, so clients and
        replicas that failed together spread out.
        """
        ceiling = self.max_delay if cap is None else cap
        exponent = min(max(failures, 1) - 1, 62)  # 2**62 s is past any cap
        base = min(ceiling, self.initial_delay * 2.0**exponent)
        return base + random.uniform(0, self.initial_delay)


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How keyed sends (`idempotency_key=`) are remembered and settled.

    Example::

        AsyncGreenTelegram(send=SendPolicy(idempotency_ttl=3600, settle_delay=5))

    GREEN-API's docs give no figure for how soon a sent message shows in
    the outgoing journal; `settle_delay` is our choice (see the guide
    "Sending exactly once"), not a measurement.
    """

    idempotency_ttl: float = 86_400.0
    """Seconds a key and its result are remembered (Stripe's 24 h)."""

    settle_delay: float = 10.0
    """Seconds the outgoing journal may lag: an ambiguous send found neither
    queued nor in the journal is looked for again this much later, and only
    then counted as not sent (and sent)."""

    clock_skew: float = 2.0
    """Seconds a journal timestamp may precede the intent and still match it;
    at least 1, since journal timestamps are whole seconds."""

    lease: float = 60.0
    """Seconds a keyed send holds its key unless renewed (every `lease / 3`
    while it runs). Other callers with the key wait meanwhile; once it runs
    out (its process died), the next one settles the send."""

    def __post_init__(self) -> None:
        for name in ("idempotency_ttl", "settle_delay", "clock_skew", "lease"):
            _require_positive(name, getattr(self, name))
        if self.clock_skew < 1:
            raise ValueError(
                "clock_skew must be at least 1 s (journal timestamps are whole "
                f"seconds), got {self.clock_skew!r}"
            )


def _require_positive(name: str, value: float, *, or_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if value < 0 if or_zero else not value > 0:
        raise ValueError(
            f"{name} must {'not be negative' if or_zero else 'be positive'}, "
            f"got {value!r}"
        )


def _require_count(name: str, value: int | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "an int or None" if optional else "an int"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
