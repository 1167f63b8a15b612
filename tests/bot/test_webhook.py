"""`Dispatcher.webhook_app()`: token, duplicates, when 200 is answered, lifespan."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from green_tg_async import AsyncGreenTelegram
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.stores import SqliteStore
from green_tg_async.testing import incoming_text

TOKEN = "hook-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot"
    )


async def test_wrong_token_bad_body_and_duplicates(tg: AsyncGreenTelegram) -> None:
    router = Router()
    handled: list[str | None] = []

    @router.message()
    async def handle(ctx: Context) -> None:
        handled.append(ctx.text)

    dp = Dispatcher(tg, router)
    body = incoming_text(1, "hi", id_message="w1")
    async with _client(dp.webhook_app(token=TOKEN)) as http:
        wrong = await http.post("/", json=body, headers={"Authorization": "Bearer x"})
        bad = await http.post("/", content=b"[1, 2", headers=AUTH)
        first = await http.post("/", json=body, headers=AUTH)
        again = await http.post("/", json=body, headers=AUTH)
    await dp.shutdown()
    assert (wrong.status_code, bad.status_code) == (401, 400)
    assert (first.status_code, again.status_code) == (200, 200)
    assert handled == ["hi"]  # the wrong token and the duplicate called nothing


async def test_memory_store_answers_after_the_handler(tg: AsyncGreenTelegram) -> None:
    router = Router()
    release = asyncio.Event()

    @router.message()
    async def slow(ctx: Context) -> None:
        await release.wait()

    dp = Dispatcher(tg, router)
    async with _client(dp.webhook_app(token=TOKEN)) as http:
        post = asyncio.create_task(
            http.post("/", json=incoming_text(1, "x"), headers=AUTH)
        )
        for _ in range(50):
            await asyncio.sleep(0)
        assert not post.done()  # memory: 200 only once handled
        release.set()
        assert (await post).status_code == 200
    await dp.shutdown()


async def test_a_durable_store_answers_once_recorded(
    tg: AsyncGreenTelegram, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "hook.sqlite3")
    router = Router()
    release = asyncio.Event()
    handled: list[str | None] = []

    @router.message()
    async def slow(ctx: Context) -> None:
        await release.wait()
        handled.append(ctx.text)

    dp = Dispatcher(tg, router, store=store)
    queue = "{1101000001}:bot:inbox:main"
    async with _client(dp.webhook_app(token=TOKEN)) as http:
        answer = await http.post("/", json=incoming_text(1, "x"), headers=AUTH)
        assert answer.status_code == 200
        assert handled == []  # answered before the handler finished
        items = await store.inbox_items(queue)
        assert [
            json.loads(payload)["messageData"]["textMessageData"]
            for _, payload in items
        ] == [{"textMessage": "x"}]
        release.set()
        await dp.shutdown()
    assert handled == ["x"]
    assert await store.inbox_items(queue) == []
    await store.aclose()


async def test_a_store_failure_answers_500_so_green_api_redelivers(
    tg: AsyncGreenTelegram,
) -> None:
    from green_tg_async._exceptions import StoreUnavailableError
    from green_tg_async.stores import MemoryStore

    class Down(MemoryStore):
        async def inbox_take(self, *args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailableError("down")

    dp = Dispatcher(tg, Router(), store=Down())
    async with _client(dp.webhook_app(token=TOKEN)) as http:
        answer = await http.post("/", json=incoming_text(1, "x"), headers=AUTH)
    await dp.shutdown()
    assert answer.status_code == 500


async def test_the_lifespan_starts_and_stops_the_dispatcher(
    tg: AsyncGreenTelegram,
) -> None:
    dp = Dispatcher(tg, Router())
    app = dp.webhook_app(token=None)
    sent: list[dict[str, Any]] = []
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    seen_running: list[bool] = []

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(message: Any) -> None:
        sent.append(dict(message))
        seen_running.append("running" in repr(dp))

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert seen_running == [True, False]


async def test_a_failing_startup_is_reported_to_the_server(
    tg: AsyncGreenTelegram,
) -> None:
    from green_tg_async.webhooks import WebhookApp

    async def broken() -> None:
        raise OSError("disk gone")

    app = WebhookApp(lambda body: asyncio.sleep(0), token=None, on_startup=broken)
    sent: list[dict[str, Any]] = []
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)
    assert sent[0] == {"type": "lifespan.startup.failed", "message": "OSError"}


async def test_memory_store_answers_500_for_what_shutdown_cut_short(
    tg: AsyncGreenTelegram,
) -> None:
    router = Router()

    @router.message()
    async def stuck(ctx: Context) -> None:
        await asyncio.Event().wait()

    dp = Dispatcher(tg, router, shutdown_timeout=0.01)
    async with _client(dp.webhook_app(token=TOKEN)) as http:
        running = asyncio.create_task(
            http.post("/", json=incoming_text(1, "a"), headers=AUTH)
        )
        queued = asyncio.create_task(
            http.post("/", json=incoming_text(1, "b"), headers=AUTH)
        )
        while dp._lanes is None or dp._lanes.pending < 2:  # noqa: ASYNC110
            await asyncio.sleep(0)  # both taken: one running, one queued
        await dp.shutdown()
        # Neither was handled: GREEN-API must deliver both again.
        answers = await asyncio.wait_for(asyncio.gather(running, queued), 5)
    assert [a.status_code for a in answers] == [500, 500]
