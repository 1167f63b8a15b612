from __future__ import annotations

from collections import deque

import pytest

from green_tg_async.stores._base import SLOT_POLL, LookupEntry
from green_tg_async.stores._local import LocalFallback
from green_tg_async.stores._transitions import budget_step

WINDOWS = ((2, 60.0), (3, 3600.0))


def test_a_look_up_is_recorded_in_every_window_until_one_is_full() -> None:
    logs: list[deque[float]] = [deque(), deque()]
    assert budget_step(logs, WINDOWS, 0.0) == 0.0
    assert budget_step(logs, WINDOWS, 1.0) == 0.0
    # The minute window holds 2: the next may go when the oldest is 60 s old.
    assert budget_step(logs, WINDOWS, 2.0) == pytest.approx(58.0)
    assert [list(log) for log in logs] == [[0.0, 1.0], [0.0, 1.0]]
    assert budget_step(logs, WINDOWS, 60.0) == 0.0
    # Now the hour window (3) is full until its oldest (0.0) is an hour old.
    assert budget_step(logs, WINDOWS, 121.0) == pytest.approx(3479.0)
    assert [list(log) for log in logs] == [[1.0, 60.0], [0.0, 1.0, 60.0]]


def test_a_wait_within_the_slack_counts_as_room() -> None:
    logs: list[deque[float]] = [deque([0.0, 1.0]), deque()]
    assert budget_step(logs, WINDOWS, 60.0 - 1e-9, slack=1e-6) == 0.0
    assert list(logs[0]) == [1.0, 60.0 - 1e-9]


async def test_the_fallback_keeps_slots_and_budget_while_the_store_is_down() -> None:
    fallback = LocalFallback(1.0)
    windows = ((2, 60.0),)

    def entry(ticket: str, budget: str = "k") -> LookupEntry:
        return LookupEntry("slots", ticket, 1, 60.0, budget, windows, "pace")

    assert await fallback.lookup_enter(entry("a")) == (0.0, None)
    assert (await fallback.lookup_enter(entry("b")))[0] == SLOT_POLL
    await fallback.lookup_exit("slots", ("a",))
    assert (await fallback.lookup_enter(entry("b")))[0] == 0.0
    wait, _ = await fallback.lookup_enter(entry("c")._replace(release=("b",)))
    assert 59.0 < wait <= 60.0
    assert (await fallback.lookup_enter(entry("c", budget="other")))[0] == 0.0
