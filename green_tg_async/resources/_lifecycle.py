"""Instance start-up: wait until authorized, and watch the state change.

Polls `getStateInstance` on the client's sleep (so tests can inject one), no
faster than once a second (its documented rate; the limiter enforces it too).
https://green-api.com/en/telegram/docs/api/account/GetStateInstance/
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from green_tg_async._exceptions import (
    AccountRestrictedError,
    APIConnectionError,
    CircuitOpenError,
    InstanceNotReadyError,
    RateLimitError,
    ServerError,
)
from green_tg_async._logging import logger
from green_tg_async.models import InstanceState

if TYPE_CHECKING:
    from .account import Account

__all__ = ["wait_until_authorized", "watch_state"]

RESTRICTED: Final = frozenset({"blocked", "suspended"})
"""States that waiting will not change: the messenger restricted the account."""

FIRST_POLL: Final = 1.0  # seconds; getStateInstance is documented at 1/s
MAX_POLL: Final = 10.0
# Failures that a later poll may not meet; anything else ends the wait. A
# breaker refusal sends nothing, so polling on through it costs nothing.
_TRANSIENT: Final = (APIConnectionError, ServerError, RateLimitError, CircuitOpenError)
_STARTING: Final = "starting"
_REBOOT_HINT: Final = (
    ". If it was blocked right after a send to a deleted account, this may be"
    " the false `blocked` a reboot clears: try tg.account.reboot()"
)


# `timeout=` is the public name; it bounds a polling loop, which an
# asyncio.timeout() around the caller could not report with the last state.
async def wait_until_authorized(
    account: Account,
    timeout: float,  # noqa: ASYNC109
) -> InstanceState:
    """Poll until the state is `authorized`; see `Account.wait_until_authorized`."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be a number, got {type(timeout).__name__}")
    if not timeout >= 0:
        raise ValueError(f"timeout must not be negative, got {timeout!r}")
    clock, sleep = account._client.clock, account._client.sleep
    deadline = clock() + timeout
    delay, last, seen = FIRST_POLL, None, None
    while True:
        state = await _poll(account)
        if state is not None:
            last = state.state_instance
            if last == "authorized":
                return state
            if last in RESTRICTED and _confirmed(last, seen, clock() >= deadline):
                raise await _restricted(account, state)
            seen = last
        remaining = deadline - clock()
        if remaining <= 0:
            raise _not_ready(last, timeout)
        await sleep(max(FIRST_POLL, min(delay, remaining)))
        delay = min(delay * 1.5, MAX_POLL)


def _confirmed(state: str, previous: str | None, out_of_time: bool) -> bool:
    """Whether a restricted state is to be believed now.

    `blocked` has been seen falsely after a send to a deleted account (GREEN-API
    forum, June 2026), so it must be read on two polls in a row, unless no
    time is left for a second one. `suspended` is believed at once.
    """
    return state != "blocked" or previous == "blocked" or out_of_time


async def watch_state(
    account: Account, interval: float
) -> AsyncGenerator[InstanceState, None]:
    """Yield the state now, then each time it changes; see `Account.watch_state`."""
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise TypeError(f"interval must be a number, got {type(interval).__name__}")
    if interval < FIRST_POLL:
        raise ValueError(f"interval must be at least {FIRST_POLL} s, got {interval}")
    sleep = account._client.sleep
    seen: str | None = None
    while True:
        state = await _poll(account)
        if state is not None and state.state_instance != seen:
            seen = state.state_instance
            yield state
        await sleep(interval)


async def _poll(account: Account) -> InstanceState | None:
    """The current state, or None after a failure a later poll may not meet.

    The 400 "instance in starting process" reads as `starting`.
    """
    try:
        return await account.get_state_instance()
    except InstanceNotReadyError as exc:
        return InstanceState(state_instance=_STARTING, raw={"error": exc.message})
    except _TRANSIENT as exc:
        logger.info("getStateInstance failed (%s); polling on", type(exc).__name__)
        return None


def _not_ready(last: str | None, timeout: float) -> InstanceNotReadyError:
    if last == "pendingPassword":
        hint = "a 2FA password is expected: send it with send_authorization_password()"
    elif last is None:
        hint = "its state could not be read"
    else:
        hint = f"it is still {last}"
    return InstanceNotReadyError(
        f"instance not authorized after {timeout:g} s: {hint}",
        method="getStateInstance",
        status_code=200,
        state=last,
    )


async def _restricted(account: Account, state: InstanceState) -> AccountRestrictedError:
    name = state.state_instance
    until = await _suspended_until(account) if name == "suspended" else None
    when = f" until {until.isoformat(timespec='seconds')}" if until else ""
    hint = _REBOOT_HINT if name == "blocked" else ""
    return AccountRestrictedError(
        f"the account is {name}{when}; waiting will not authorize it{hint}",
        method="getStateInstance",
        state=name,
        until=until,
        body=dict(state.raw),
    )


async def _suspended_until(account: Account) -> datetime | None:
    try:
        settings = await account.get_account_settings()
    except (*_TRANSIENT, InstanceNotReadyError):
        return None
    return _as_datetime(settings.suspended_until)


def _as_datetime(value: Any) -> datetime | None:
    """Epoch seconds (or milliseconds) or an ISO 8601 string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
