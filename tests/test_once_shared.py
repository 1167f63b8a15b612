"""One keyed send across clients and processes sharing a store: one delivery."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from green_tg_async.stores import StateStore
from green_tg_async.stores._journal import JournalEntry, SendJournal
from green_tg_async.testing import FakeGreenAPI
from green_tg_async.testing._server import LoopbackServer
from tests.helpers import API_TOKEN, make_client
from tests.stores.test_contract import REDIS, _make_store

ROOT = Path(__file__).resolve().parents[1]
WORKER = str(Path(__file__).with_name("once_worker.py"))
DEADLINE = 60.0


@pytest.fixture(params=["sqlite", *REDIS])
async def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[StateStore, StateStore]]:
    first = _make_store(request, request.param, tmp_path)
    second = _make_store(request, request.param, tmp_path)
    yield first, second
    await first.aclose()
    await second.aclose()


def _spy_waits(
    monkeypatch: pytest.MonkeyPatch, store: StateStore, waiting: asyncio.Event
) -> None:
    """Set `waiting` when `store` tells a caller to wait for a send in flight."""
    assert isinstance(store, SendJournal)
    begin = store.journal_begin

    async def spy(key: str, **kwargs: Any) -> JournalEntry:
        entry = await begin(key, **kwargs)
        if entry.verdict == "wait":
            waiting.set()
        return entry

    monkeypatch.setattr(store, "journal_begin", spy)


async def test_two_clients_with_one_key_deliver_once(
    two_stores: tuple[StateStore, StateStore],
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waiting = asyncio.Event()
    for store in two_stores:
        _spy_waits(monkeypatch, store, waiting)

    async def held(request: httpx.Request) -> httpx.Response:
        await waiting.wait()  # answer once the other client waits for us
        return httpx.Response(200, json={"idMessage": "m1"})

    route = api.post(f"/sendMessage/{API_TOKEN}").mock(side_effect=held)
    first, second = (make_client(store=store) for store in two_stores)
    async with first, second:
        sent = await asyncio.gather(
            *(
                tg.sending.send_message("10000000", "hi", idempotency_key="k")
                for tg in (first, second)
            )
        )
    assert [s.id_message for s in sent] == ["m1", "m1"]
    assert route.call_count == 1


async def test_two_processes_on_one_sqlite_file_deliver_once(tmp_path: Path) -> None:
    fake = FakeGreenAPI(rate_limits=False)

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.split("/")[2] == "sendMessage":
            await asyncio.sleep(1.0)  # both processes meet while it is on the wire
        return await fake.handle_async(request)

    env = {
        **os.environ,
        "GREEN_API_ID_INSTANCE": fake.id_instance,
        "GREEN_API_TOKEN": fake.api_token,
        "PYTHONPATH": str(ROOT),
    }
    path = str(tmp_path / "once.sqlite3")
    async with LoopbackServer(slow) as server, asyncio.timeout(DEADLINE):
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                WORKER,
                path,
                server.url,
                "order-1",
                env=env,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        outputs = [await proc.communicate() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    ids = {out.decode().strip() for out, _ in outputs}
    assert len(ids) == 1
    assert fake.sent_texts() == ["once"]


async def test_a_key_that_looks_like_a_message_claim_is_just_a_key(
    two_stores: tuple[StateStore, StateStore],
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Keys and message claims live apart, whatever a key says."""
    route = api.post(f"/sendMessage/{API_TOKEN}").respond(200, json={"idMessage": "m1"})
    key = "msg:10000000:m1"  # the claim of the message this send gets
    with caplog.at_level(logging.WARNING, logger="green_tg_async"):
        async with make_client(store=two_stores[0]) as tg:
            for _ in range(2):
                sent = await tg.sending.send_message(
                    "10000000", "a", idempotency_key=key
                )
    assert sent.id_message == "m1"
    assert route.call_count == 1
    assert "not recorded" not in caplog.text
