"""The fake's sending queue and the faults scripted for sends.

GREEN-API applies a send by putting it in the instance's sending queue
(`showMessagesQueue`); from there it goes out and appears in the outgoing
journal (`lastOutgoingMessages`, `getChatHistory`, `getMessage`). The fake
sends at once unless told to hold sends. It can also answer a send the way
a faulty network or server would: the answer lost after the send was
applied, or a 500 before or after applying it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import httpx

from green_tg_async._methods import METHODS

__all__ = ["SEND_METHODS", "Held", "Outbox", "SendFault"]

SendFault = Literal[
    "timeout_after_apply",
    "disconnect_after_apply",
    "500_after_apply",
    "500_before_apply",
]
"""How the fake answers a send instead of 200 (`FakeGreenAPI.fail_next_send`).

- `"timeout_after_apply"`: the send is applied, the answer is lost (the
  client sees a read timeout: `APITimeoutError`);
- `"disconnect_after_apply"`: applied, then the connection drops
  (`APIConnectionError`);
- `"500_after_apply"`: applied, answered 500 (`ServerError`);
- `"500_before_apply"`: answered 500 without applying it.
"""

SEND_METHODS: Final = frozenset(
    spec.name for spec in METHODS.values() if spec.section == "sending"
) - {"uploadFile"}
"""The methods that make a message appear in a chat: sending's, but `uploadFile`."""

_FAULTS: Final = frozenset(get_args(SendFault))
_LOST: Final[dict[str, Callable[..., httpx.TransportError]]] = {
    "timeout_after_apply": lambda request: httpx.ReadTimeout(
        "the fake lost the answer", request=request
    ),
    "disconnect_after_apply": lambda request: httpx.RemoteProtocolError(
        "Server disconnected without sending a response.", request=request
    ),
}
Sends = list[tuple[str, str, dict[str, Any]]]


@dataclass(frozen=True)
class Held:
    """A send applied and waiting in the sending queue."""

    method: str
    id_message: str
    body: dict[str, Any]
    until: float | None
    """When the fake's clock releases it; None: at `release()`."""


class Outbox:
    """Where applied sends go: out at once (`sends`) or held in the queue.

    `sent_at` keeps each sent message's journal timestamp (whole seconds of
    the wall clock when it went out); the journals show it once the fake's
    clock reaches its `shown_at` (`journal_lag` after it went out).
    """

    def __init__(
        self,
        sends: Sends,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self._sends = sends
        self._clock = clock
        self._wall_clock = wall_clock
        self.held: list[Held] = []
        self.sent_at: dict[str, int] = {}
        self.shown_at: dict[str, float] = {}
        self.journal_lag = 0.0
        self._holding = False
        self._hold_for: float | None = None
        self._faults: deque[SendFault] = deque()

    # -- the sending queue ---------------------------------------------------

    def hold(self, seconds: float | None) -> None:
        """Hold each following send for `seconds` (None: until `release()`)."""
        if seconds is not None and seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds!r}")
        self._holding, self._hold_for = True, seconds

    def release(self) -> list[str]:
        """Send every held message now and stop holding; return their ids."""
        self._holding = False
        held, self.held = self.held, []
        for item in held:
            self._send(item.method, item.id_message, item.body)
        return [item.id_message for item in held]

    def release_due(self) -> None:
        """Send the held messages whose time on the fake's clock has come."""
        now = self._clock()
        while self.held and _due(self.held[0], now):
            item = self.held.pop(0)
            self._send(item.method, item.id_message, item.body)

    def accept(self, method: str, id_message: str, body: dict[str, Any]) -> None:
        """Apply a send: queue it while holding, else send it at once."""
        if not self._holding:
            self._send(method, id_message, body)
            return
        until = None if self._hold_for is None else self._clock() + self._hold_for
        self.held.append(Held(method, id_message, body, until))

    def clear(self) -> None:
        """Drop the held messages: they are never sent (`clearMessagesQueue`)."""
        self.held.clear()

    def lag(self, seconds: float) -> None:
        """Show each message that goes out from now on `seconds` later."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds!r}")
        self.journal_lag = seconds

    def shown(self, id_message: str) -> bool:
        """Whether the journals show the sent message `id_message` yet."""
        return self.shown_at.get(id_message, 0.0) <= self._clock()

    def wall_time(self) -> int:
        """Now on the wall clock, in whole seconds (journal time)."""
        return int(self._wall_clock())

    def _send(self, method: str, id_message: str, body: dict[str, Any]) -> None:
        self._sends.append((method, id_message, body))
        self.sent_at[id_message] = self.wall_time()
        if self.journal_lag:
            self.shown_at[id_message] = self._clock() + self.journal_lag

    # -- faults --------------------------------------------------------------

    def add_fault(self, fault: SendFault, times: int) -> None:
        """Answer the next `times` sends with `fault`."""
        if fault not in _FAULTS:
            choices = ", ".join(sorted(_FAULTS))
            raise ValueError(f"unknown send fault {fault!r}; use one of {choices}")
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times!r}")
        self._faults.extend([fault] * times)

    def answer(
        self,
        method: str,
        request: httpx.Request,
        apply: Callable[[], httpx.Response],
    ) -> httpx.Response:
        """`apply()`'s answer, or the next scripted fault's when `method` sends."""
        if method not in SEND_METHODS or not self._faults:
            return apply()
        fault = self._faults.popleft()
        if fault == "500_before_apply":
            return _server_error()
        response = apply()
        if response.status_code != 200:
            return response  # refused: nothing was applied
        if fault == "500_after_apply":
            return _server_error()
        raise _LOST[fault](request)


def _due(item: Held, now: float) -> bool:
    return item.until is not None and item.until <= now


def _server_error() -> httpx.Response:
    return httpx.Response(500, json={"message": "Internal Server Error"})
