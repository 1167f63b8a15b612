"""The send journal's contract on every store: memory, SQLite, Redis, Redis Cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from green_tg_async.stores import MemoryStore
from green_tg_async.stores._journal import JournalEntry, SendJournal
from tests.helpers import T0, FakeClock
from tests.stores.test_contract import REDIS, _make_store

KEY = "{1}:once:k"
OTHER = "{1}:once:other"
MSG = "{1}:once:msg:10:m1"
DAY = 86_400.0


@pytest.fixture(params=["memory", "sqlite", "fail-open", *REDIS])
async def journal(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SendJournal]:
    store = _make_store(request, request.param, tmp_path)
    assert isinstance(store, SendJournal)
    yield store
    await store.aclose()


async def _begin(
    store: SendJournal, owner: str, fp: str = "fp", key: str = KEY
) -> JournalEntry:
    return await store.journal_begin(
        key, fingerprint=fp, intent='{"i":1}', owner=owner, lease=60.0, ttl=DAY
    )


async def _finish(
    store: SendJournal, result: str, key: str = KEY, msg: str = MSG
) -> str | None:
    return await store.journal_finish(
        key, fingerprint="fp", intent='{"i":1}', message=msg, result=result, ttl=DAY
    )


async def test_a_new_intent_is_sent_then_others_wait(journal: SendJournal) -> None:
    first = await _begin(journal, "a")
    assert (first.verdict, first.fingerprint, first.intent, first.result) == (
        "send",
        "fp",
        '{"i":1}',
        None,
    )
    second = await _begin(journal, "b")
    assert second.verdict == "wait"
    assert second.started == first.started


async def test_other_arguments_conflict_and_change_nothing(
    journal: SendJournal,
) -> None:
    await _begin(journal, "a")
    conflict = await _begin(journal, "b", fp="other")
    assert (conflict.verdict, conflict.fingerprint) == ("conflict", "fp")
    assert (await _begin(journal, "c")).verdict == "wait"  # a's lease still holds


async def test_a_finished_key_answers_its_result(journal: SendJournal) -> None:
    await _begin(journal, "a")
    assert await _finish(journal, '{"idMessage":"m1"}') == '{"idMessage":"m1"}'
    done = await _begin(journal, "b")
    assert (done.verdict, done.result) == ("done", '{"idMessage":"m1"}')
    # The first result stands.
    assert await _finish(journal, '{"idMessage":"m2"}') == '{"idMessage":"m1"}'


async def test_a_message_settles_at_most_one_key(journal: SendJournal) -> None:
    await _begin(journal, "a")
    await _begin(journal, "b", key=OTHER)
    assert await _finish(journal, '{"idMessage":"m1"}') is not None
    assert await _finish(journal, '{"idMessage":"m1"}', key=OTHER) is None
    assert (await _begin(journal, "c", key=OTHER)).verdict == "wait"  # unchanged


async def test_a_released_intent_is_settled_by_the_next_caller(
    journal: SendJournal,
) -> None:
    first = await _begin(journal, "a")
    await journal.journal_release(KEY, owner="x", forget=True)  # not the owner
    await journal.journal_release(KEY, owner="a", forget=False)
    settle = await _begin(journal, "b")
    assert (settle.verdict, settle.started) == ("settle", first.started)
    assert (await _begin(journal, "c")).verdict == "wait"  # b holds it now


async def test_a_forgotten_intent_is_sent_afresh(journal: SendJournal) -> None:
    await _begin(journal, "a")
    await journal.journal_release(KEY, owner="a", forget=True)
    assert (await _begin(journal, "b", fp="new")).verdict == "send"
    await journal.journal_release("{1}:once:none", owner="a", forget=True)


async def test_finish_without_an_intent_records_the_result(
    journal: SendJournal,
) -> None:
    assert await _finish(journal, '{"idMessage":"m1"}') == '{"idMessage":"m1"}'
    done = await _begin(journal, "a")
    assert (done.verdict, done.result) == ("done", '{"idMessage":"m1"}')
    await journal.journal_release(KEY, owner="", forget=True)  # a result is kept
    assert (await _begin(journal, "a")).verdict == "done"


async def test_concurrent_begins_let_exactly_one_send(journal: SendJournal) -> None:
    entries = await asyncio.gather(*(_begin(journal, f"o{n}") for n in range(20)))
    verdicts = sorted(e.verdict for e in entries)
    assert verdicts == ["send"] + ["wait"] * 19


async def test_an_expired_lease_is_taken_over_and_records_expire() -> None:
    clock = FakeClock(T0)
    store = MemoryStore(clock=clock)
    await _begin(store, "a")
    clock.advance(60)
    assert (await _begin(store, "b")).verdict == "settle"
    clock.advance(DAY)
    assert (await _begin(store, "c", fp="new")).verdict == "send"
    for n in range(600):
        await _begin(store, "d", key=f"{{1}}:once:{n}")
    clock.advance(DAY)
    for n in range(600, 1200):  # past the sweep point: expired records go
        await _begin(store, "d", key=f"{{1}}:once:{n}")
    assert len(store._journal) < 1000


async def test_a_lease_that_runs_out_on_the_stores_clock_is_taken_over(
    journal: SendJournal,
) -> None:
    """The expiry rule of each store (SQL, Lua) on its own clock: no deadline
    is asserted, only that the lease ends and then exactly one caller holds it."""
    await journal.journal_begin(
        KEY, fingerprint="fp", intent="{}", owner="a", lease=0.05, ttl=DAY
    )
    async with asyncio.timeout(30):
        while (entry := await _begin(journal, "b")).verdict == "wait":  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert entry.verdict == "settle"
    assert (await _begin(journal, "c")).verdict == "wait"
