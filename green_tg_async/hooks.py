"""Hooks: see what the client does, call by call, without its secrets.

Pass objects with any of `on_request`, `on_response`, `on_retry`,
`on_limiter_wait`, `on_breaker` and `on_once` to `AsyncGreenTelegram(hooks=[...])`
(each a `Hook`: it has at least one of them, as mypy checks).
Each gets a frozen `CallEvent`; none carries the token, the URL or a body::

    class Timing:
        def on_response(self, event: CallEvent) -> None:
            metrics.observe(event.method, event.elapsed)

Hooks run on the call path: keep them cheap and synchronous. One that raises
is logged (once per hook) and the call goes on as if it were not there.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal, Protocol, TypeAlias, get_args

from ._logging import logger

__all__ = [
    "HOOK_NAMES",
    "BreakerHook",
    "CallEvent",
    "EventKind",
    "Hook",
    "Hooks",
    "LimiterWaitHook",
    "OnceHook",
    "OnceOutcome",
    "RequestHook",
    "ResponseHook",
    "RetryHook",
]

EventKind = Literal["request", "response", "retry", "limiter_wait", "breaker", "once"]
OnceOutcome = Literal["replayed", "queue", "journal", "not_sent", "unknown"]
"""How a keyed send ended without a fresh answer: its recorded result came
back (`replayed`), or an ambiguous send was settled: found in the sending
queue or the outgoing journal, found not sent (so sent now), or `unknown`."""
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One thing that happened to one call; fields that do not apply are None."""

    kind: EventKind
    """`request`, `response`, `retry`, `limiter_wait`, `breaker` or `once`."""
    id_instance: str
    """The instance (for the partner client: `partner-` and a digest of its token)."""
    method: str
    """The GREEN-API method (`sendMessage`)."""
    call_id: int = 0
    """Same for every event of one call (0 for breaker changes)."""
    attempt: int = 0
    """1 for the first attempt of the call."""
    status: int | None = None
    """HTTP status of the answer (`response`), when one came."""
    elapsed: float | None = None
    """Seconds the attempt took on the wire (`response`)."""
    request_sent: bool | None = None
    """False when the request surely never reached the server (`response`)."""
    waited: float | None = None
    """Seconds waited: at the limiter, or before the next attempt (`retry`)."""
    error: str | None = None
    """The exception class that ended the attempt, if any."""
    final: bool | None = None
    """True on the `response` that ends the call (no retry follows)."""
    breaker_state: str | None = None
    """`open`, `closed` or `refused` (`breaker`)."""
    retry_at: datetime | None = None
    """When calls are let through again (`breaker`, `open`/`refused`)."""
    reason: str | None = field(default=None, repr=False)
    """Why the breaker opened (the API's reason text; never the token)."""
    once: OnceOutcome | None = None
    """How a keyed send was replayed or settled (`once`)."""


class RequestHook(Protocol):
    """A hook told when an attempt is about to be sent."""

    def on_request(self, event: CallEvent, /) -> object:
        """Called with a `request` event."""


class ResponseHook(Protocol):
    """A hook told when an attempt ended (an answer, a failure, a refusal)."""

    def on_response(self, event: CallEvent, /) -> object:
        """Called with a `response` event."""


class RetryHook(Protocol):
    """A hook told when a failed attempt will be tried again."""

    def on_retry(self, event: CallEvent, /) -> object:
        """Called with a `retry` event."""


class LimiterWaitHook(Protocol):
    """A hook told how long an attempt waited at the rate limiter."""

    def on_limiter_wait(self, event: CallEvent, /) -> object:
        """Called with a `limiter_wait` event."""


class BreakerHook(Protocol):
    """A hook told when the breaker opens, closes or refuses a call."""

    def on_breaker(self, event: CallEvent, /) -> object:
        """Called with a `breaker` event."""


class OnceHook(Protocol):
    """A hook told when a keyed send was replayed or an ambiguous one settled."""

    def on_once(self, event: CallEvent, /) -> object:
        """Called with a `once` event."""


Hook: TypeAlias = (
    RequestHook | ResponseHook | RetryHook | LimiterWaitHook | BreakerHook | OnceHook
)
"""What `hooks=` takes: an object with at least one of the hook methods."""
HOOK_NAMES: Final[tuple[str, ...]] = tuple(
    name for hook in get_args(Hook) for name in vars(hook) if name.startswith("on_")
)
"""The hook methods, one per protocol of `Hook`."""


class Hooks:
    """The hooks of one client, by event; calls each, never letting one fail a call."""

    __slots__ = ("_any", "_by_name", "_failed", "key")

    def __init__(self, key: str, hooks: Sequence[Hook] = ()) -> None:
        self.key = key
        self._by_name: dict[str, list[Callable[[CallEvent], object]]] = {
            name: [getattr(h, name) for h in hooks if callable(getattr(h, name, None))]
            for name in HOOK_NAMES
        }
        self._any = any(self._by_name.values())  # read on every call: kept
        if hooks and not self._any:
            raise TypeError(f"a hook needs at least one of {', '.join(HOOK_NAMES)}")
        self._failed: set[int] = set()

    def __bool__(self) -> bool:
        return self._any

    def wants(self, name: str) -> bool:
        """True when some hook has `name`."""
        return bool(self._by_name[name])

    def emit(self, name: str, event: CallEvent) -> None:
        """Call every `name` hook with `event`; a raising hook is logged once."""
        for hook in self._by_name[name]:
            try:
                hook(event)
            except Exception:
                owner = id(getattr(hook, "__self__", hook))
                if owner not in self._failed:
                    self._failed.add(owner)
                    logger.exception(
                        "hook %r raised in %s; ignored (logged once per hook)",
                        getattr(hook, "__self__", hook),
                        name,
                    )

    def breaker(
        self, state: str, method: str, until: float | None, reason: str | None
    ) -> None:
        """Report a breaker change (`open`, `closed`) or a refusal."""
        retry_at = None if until is None else datetime.fromtimestamp(until, tz=UTC)
        event = CallEvent(
            "breaker",
            self.key,
            method,
            breaker_state=state,
            retry_at=retry_at,
            reason=reason,
        )
        self.emit("on_breaker", event)

    def once(self, method: str, outcome: OnceOutcome) -> None:
        """Report a keyed send replayed from the journal, or how one was settled."""
        if self._by_name["on_once"]:
            self.emit("on_once", CallEvent("once", self.key, method, once=outcome))


class Trace:
    """The events of one call; created only when the client has hooks."""

    __slots__ = ("_hooks", "_started", "attempt", "call_id", "done", "method")

    def __init__(self, hooks: Hooks, method: str) -> None:
        self._hooks = hooks
        self.method = method
        self.call_id = next(_ids)
        self.attempt = 0
        self.done = False
        self._started = 0.0

    def request(self) -> None:
        """An attempt is about to be sent."""
        self._started = time.perf_counter()
        self._emit("on_request", "request")

    def limiter_wait(self, waited: float) -> None:
        """The attempt waited `waited` seconds at the limiter."""
        self._emit("on_limiter_wait", "limiter_wait", waited=waited)

    def response(
        self,
        *,
        status: int | None,
        request_sent: bool,
        error: BaseException | None,
        final: bool,
    ) -> None:
        """The attempt ended (with an answer, a failure, or a refusal)."""
        elapsed = time.perf_counter() - self._started if self._started else 0.0
        self._started = 0.0
        self.done = final
        self._emit(
            "on_response",
            "response",
            status=status,
            elapsed=elapsed,
            request_sent=request_sent,
            error=None if error is None else type(error).__name__,
            final=final,
        )

    def retry(self, attempt: int, error: BaseException | None, wait: float) -> None:
        """Attempt `attempt` failed; the next one starts after `wait` seconds."""
        error_name = None if error is None else type(error).__name__
        self._emit("on_retry", "retry", attempt=attempt, waited=wait, error=error_name)

    def _emit(self, name: str, kind: EventKind, **fields: object) -> None:
        if self._hooks.wants(name):
            fields.setdefault("attempt", self.attempt)
            event = CallEvent(
                kind,
                self._hooks.key,
                self.method,
                call_id=self.call_id,
                **fields,  # type: ignore[arg-type]
            )
            self._hooks.emit(name, event)
