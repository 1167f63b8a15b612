from __future__ import annotations

import asyncio

import pytest

from green_tg_async._singleflight import SingleFlight


async def test_callers_of_one_key_share_one_run() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    runs = 0
    gate = asyncio.Event()

    async def make() -> int:
        nonlocal runs
        runs += 1
        mine = runs
        await gate.wait()
        return mine

    callers = [asyncio.create_task(flight.run("k", make)) for _ in range(3)]
    other = asyncio.create_task(flight.run("other", make))
    await asyncio.sleep(0)
    assert len(flight) == 2
    gate.set()
    assert await asyncio.gather(*callers, other) in ([1, 1, 1, 2], [2, 2, 2, 1])
    assert runs == 2
    assert len(flight) == 0


async def test_a_run_nobody_joins_makes_no_future(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    made = 0
    create_future = loop.create_future

    def counting() -> asyncio.Future[object]:
        nonlocal made
        made += 1
        return create_future()

    monkeypatch.setattr(loop, "create_future", counting)
    flight: SingleFlight[str, int] = SingleFlight()

    async def make() -> int:
        await asyncio.sleep(0)
        return 7

    assert [await flight.run("k", make) for _ in range(5)] == [7] * 5
    assert made == 0


async def test_waiters_get_the_leaders_failure() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    gate = asyncio.Event()

    async def fail() -> int:
        await gate.wait()
        raise ValueError("boom")

    callers = [asyncio.create_task(flight.run("k", fail)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert [type(o) for o in outcomes] == [ValueError] * 3
    assert len(flight) == 0


async def test_a_cancelled_leader_hands_the_run_to_a_waiter() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    gate = asyncio.Event()
    runs: list[str] = []

    async def make() -> str:
        runs.append("run")
        await gate.wait()
        return "done"

    leader = asyncio.create_task(flight.run("k", make))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(flight.run("k", make)) for _ in range(2)]
    await asyncio.sleep(0)
    leader.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    assert runs == ["run", "run"]  # the leader's, then one waiter's, joined
    gate.set()
    assert await asyncio.gather(*waiters) == ["done", "done"]
    assert leader.cancelled()
    assert runs == ["run", "run"]


async def test_a_cancelled_waiter_leaves_the_run_going() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    gate = asyncio.Event()

    async def make() -> str:
        await gate.wait()
        return "done"

    leader = asyncio.create_task(flight.run("k", make))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(flight.run("k", make))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.sleep(0)
    gate.set()
    assert await leader == "done"
    assert waiter.cancelled()
