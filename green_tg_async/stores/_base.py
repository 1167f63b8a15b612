"""The store protocols, and the records and requests the stores exchange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeAlias, runtime_checkable

from ._journal import SendJournal

__all__ = [
    "SLOT_POLL",
    "BotStore",
    "BreakerRecord",
    "Budget",
    "CacheStore",
    "Claim",
    "Gate",
    "GatedAdmission",
    "LookupEntry",
    "PaceRecord",
    "SendLog",
    "SharedLimiterStore",
    "StateStore",
    "WritesBack",
]


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """Breaker state for one key; every time is wall-clock epoch seconds."""

    open_until: float = 0.0
    """Calls are refused before this time; 0 means the breaker never opened."""

    reason: str = ""
    """Why it opened (the 469 reason, or the failure that tripped it)."""

    failures: int = 0
    """Consecutive connection errors or 5xx answers seen so far."""

    probe_until: float = 0.0
    """While later than now, one caller holds the half-open probe lease."""


@dataclass(frozen=True, slots=True)
class PaceRecord:
    """The adaptive look-up pace of an instance, as the store keeps it."""

    factor: float = 1.0
    """Fraction of the configured look-up rate, from `since` on."""

    since: float = 0.0
    """Epoch seconds when it starts to climb back (the end of a 469's pause)."""


Budget = tuple[tuple[int, float], ...]
"""Look-up budget windows: (at most this many look-ups, in this many seconds)."""


SLOT_POLL = 0.05
"""`lookup_enter`'s wait while every in-flight slot is held: ask again this soon."""


class LookupEntry(NamedTuple):
    """A contact look-up asking for an in-flight slot and room in the budget."""

    slots: str
    """Key of the instance's in-flight slots (leases, one per look-up)."""
    ticket: str
    """This look-up's lease, unique per attempt."""
    cap: int
    """Slots of the instance (`RateLimits.lookups_in_flight`)."""
    lease: float
    """Seconds the slot is held at most: a holder that died frees it then."""
    budget: str
    """Key the budget windows are kept under."""
    windows: Budget
    """The budget windows: (at most this many look-ups, in this many seconds)."""
    pace: str
    """Key of the instance's look-up pace record (read in the same step)."""
    release: tuple[str, ...] = ()
    """Tickets of this process's earlier look-ups to free first."""


@runtime_checkable
class StateStore(Protocol):
    """What a client keeps per instance: its pauses (the breaker) and look-ups.

    Every method is atomic for its key: concurrent callers, in this process or
    (for shared stores) in others, never lose an update. Keys are built by the
    library and never contain the API token. A store shared between
    processes also implements `SharedLimiterStore`, so they share one rate.
    """

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        """Return the record for `key`, or None when the breaker is closed."""
        ...

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        """Open until `until`; a pause already running longer is kept (max)."""
        ...

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        """Count a failure; at `threshold` in a row, open until `until`."""
        ...

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        """Take the half-open probe lease unless another caller holds it."""
        ...

    async def breaker_release(self, key: str, *, lease_until: float) -> None:
        """Give back the probe lease expiring at `lease_until`, if still held.

        A probe cancelled before its answer arrived calls this, so other
        callers need not wait for the lease to run out.
        """
        ...

    async def breaker_success(self, key: str, *, now: float) -> None:
        """Forget failures; close the breaker unless a pause still runs past `now`.

        A call that started before another caller's 469 must not cancel that
        pause when it succeeds, so a pause ending after `now` is kept.
        """
        ...

    async def breaker_reset(self, key: str) -> None:
        """Close the breaker by hand and forget everything about it."""
        ...

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        """Take a slot and record the look-up in every budget window, atomically.

        First frees `entry.release` and expired leases. Returns the wait
        (0: taken and recorded; `SLOT_POLL` while every slot is held; else
        until every budget window has room, nothing recorded) and the pace
        record as read.
        """
        ...

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        """Free the slots these tickets hold (nothing happens for others)."""
        ...

    async def pace_get(self, key: str) -> PaceRecord | None:
        """Return the pace record, or None when it was never cut (full pace)."""
        ...

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
        """After a 469: multiply the pace at `now` by `decrease`, atomically.

        The pace at `now` is the stored factor plus `climb` per hour since its
        `since`, at most 1; the result (at least `floor`) holds until
        `resume_at`, then climbs again. Returns what was stored.
        """
        ...

    async def pace_reset(self, key: str) -> None:
        """Forget the pace: back to the full configured rate."""
        ...

    async def aclose(self) -> None:
        """Release connections the store opened itself."""
        ...


@runtime_checkable
class CacheStore(Protocol):
    """Values kept for a while: answers, done markers, conversation state.

    Used for `check_accounts()` answers and a bot's done markers and
    conversations. Keys are built by the library.
    """

    async def cache_get(self, key: str) -> str | None:
        """Return the value, or None when missing or expired."""
        ...

    async def cache_set(self, key: str, value: str, *, ttl: float) -> None:
        """Keep `value` for `ttl` seconds."""
        ...

    async def cache_delete(self, key: str) -> None:
        """Forget `key` (nothing happens when it is missing)."""
        ...


class SendLog(NamedTuple):
    """A send log: at most `limit` sends in any `window` seconds.

    A send is held under its `ticket` as pending ("now", whatever the time,
    and counting against the limit) until it is settled: logged at the time
    its answer arrived, so the log counts what the server saw. `settle`
    carries earlier held sends of this log whose answers arrived, as (ticket,
    seconds ago); the store logs them first, in the same round trip.
    """

    key: str
    limit: int
    window: float
    ticket: str = ""
    settle: tuple[tuple[str, float], ...] = ()


class Gate(NamedTuple):
    """The breaker's part of a gated admission: which records, and when."""

    keys: tuple[str, ...]
    """Breaker keys that apply to the call (the instance, maybe look-ups)."""
    now: float
    """The breaker's clock (epoch seconds)."""
    lease_until: float
    """Where a half-open probe lease taken by this call would end."""
    lookup: LookupEntry | None = None
    """For a contact look-up: its slot and budget, taken in the same step."""


class GatedAdmission(NamedTuple):
    """What a gated admission found and did, in one round trip."""

    wait: float
    """Seconds to wait before sending (0: the send is recorded, go now)."""
    records: tuple[BreakerRecord | None, ...]
    """The breaker records of `Gate.keys`, as read."""
    refused: int = -1
    """Index of the record that refuses the call (nothing booked), or -1."""
    lease: bool = False
    """True when this call took the half-open probe lease (only with wait 0)."""
    lookup_wait: float = 0.0
    """Above 0: the look-up's slot or budget is not free, nothing was booked;
    ask again after this many seconds (as `lookup_enter`'s wait)."""
    pace: PaceRecord | None = None
    """With a look-up: its pace record, as read."""


@runtime_checkable
class SharedLimiterStore(Protocol):
    """A store that also rate-limits, for every process that shares it.

    It keeps one GCRA "theoretical arrival time" per key, in integer
    microseconds of the store's own clock, and books slots atomically; the
    caller sleeps the returned wait on its own event loop.
    """

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        """Book the next slot; return the seconds to wait before sending.

        With `log`, a slot that starts now is also held in that send log (as
        by `limiter_enter_pending`, in the same round trip where the store
        can), and 0 means "held, send now". Any other wait means: sleep it,
        then call `limiter_enter_pending` until it returns 0.
        """
        ...

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        """Push the next slot at least `seconds` into the future (after a 429)."""
        ...

    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog,
        gate: Gate,
    ) -> GatedAdmission:
        """Read the gate's breaker records, then book a slot unless they refuse.

        Atomically: a record that refuses the call (a pause running, or
        another caller holding the probe lease) returns with nothing booked.
        Otherwise the slot is booked as by `limiter_admit`; when it starts
        now and the send is logged, an expired pause's probe lease is taken.
        """
        ...

    async def limiter_enter_pending(self, log: SendLog) -> float:
        """Hold a send now under `log.ticket`, or return the wait if the log is full.

        The log is full when `limit` sends fall in its last `window` seconds.
        Slots keep calls evenly spaced; this log catches calls that arrive
        bunched anyway (a late process, a slow wake-up), across processes.

        A held send counts as "now" (see `SendLog`) for `PENDING_SECONDS` at
        most.
        """
        ...

    async def limiter_done(self, log: SendLog) -> None:
        """Log the held sends of `log.settle` (their answers arrived)."""
        ...


Claim: TypeAlias = Literal["claimed", "held", "done"]
"""What `BotStore.inbox_take` found: the caller now holds the item's claim, a
live claim of another owner holds it, or its done marker is set."""


class Resumed(NamedTuple):
    """What `BotStore.inbox_resume` claimed, and when to look again."""

    items: list[tuple[str, str]]
    """The `(item, payload)` pairs now claimed by the caller, oldest first."""
    next_expiry_in: float | None
    """Seconds, on the store's clock, until the earliest live claim of another
    owner in the queue runs out (when a look would find it); None when there
    is none."""


@runtime_checkable
class BotStore(CacheStore, SendJournal, Protocol):
    """What the bot dispatcher keeps: an inbox, done markers, conversations, sends.

    The send journal (`SendJournal`: `journal_begin`, `journal_finish`,
    `journal_release`) keeps a handler's keyed sends, so a handler that runs
    again never delivers its replies twice.

    Done markers and conversation state are cache entries (`cache_get` /
    `cache_set` with a TTL, and `cache_delete`). The inbox holds
    notifications taken off GREEN-API's queue until they are handled; with a
    `durable` store it survives a crash, so a restarted bot resumes it.

    Each inbox item may carry a *claim*: "being handled by `owner` until a
    time", taken atomically before handling, renewed while the handler runs,
    and gone when the item is finished or released. A live claim keeps every
    other owner off the item; an expired one lets any owner take it over.
    Claim times are on the store's clock (Redis: its `TIME`).
    """

    @property
    def durable(self) -> bool:
        """True when the inbox outlives the process (SQLite, Redis)."""
        ...

    async def inbox_add(self, queue: str, item: str, payload: str) -> bool:
        """Append `item` to `queue`; False (and no change) if it is there already."""
        ...

    async def inbox_items(self, queue: str) -> list[tuple[str, str]]:
        """Every `(item, payload)` of `queue`, oldest first."""
        ...

    async def inbox_remove(self, queue: str, item: str) -> None:
        """Drop an item and its claim (nothing happens when it is missing)."""
        ...

    async def inbox_take(
        self,
        queue: str,
        item: str,
        payload: str,
        *,
        done: str,
        owner: str,
        lease: float,
    ) -> Claim:
        """Record `item` and claim it for `lease` seconds, atomically.

        "done" (nothing changes) when the cache key `done` is set. Otherwise
        the item is appended unless `queue` holds it already, and claimed
        unless another owner's claim is still live ("held"). Taking it again
        under the same `owner` renews the claim, so a retry after a write
        that timed out but was applied answers "claimed".
        """
        ...

    async def inbox_renew(
        self, queue: str, items: list[str], *, owner: str, lease: float
    ) -> list[str]:
        """Extend `owner`'s claims of `items` by `lease`; return those still held."""
        ...

    async def inbox_release(self, queue: str, item: str, *, owner: str) -> None:
        """Drop `owner`'s claim of `item`, so anyone may take it at once."""
        ...

    async def inbox_finish(
        self, queue: str, item: str, *, done: str, ttl: float
    ) -> None:
        """Atomically: set `done` (a cache key) for `ttl` s, drop `item`, its claim."""
        ...

    async def inbox_resume(
        self, queue: str, *, owner: str, lease: float, limit: int
    ) -> Resumed:
        """Claim up to `limit` items without a live claim, in one atomic call.

        Oldest first. These are items whose owner died or gave them back;
        their done markers are not checked here (the caller does). The
        result also tells when the next claim of another owner runs out, so
        an idle caller looks again exactly then.
        """
        ...


@runtime_checkable
class WritesBack(Protocol):
    """A fail-open store that can write locally kept pauses back on demand."""

    async def write_back(self) -> float:
        """0 when nothing is left to write back, else seconds until a retry."""


PENDING_SECONDS = 30.0
"""A pending send not settled this long (its process died) stops counting."""
