"""A FastAPI app that serves a bot's webhook next to routes of its own.

Run the demo (the built-in fake, no account, no server):
    python examples/fastapi_app.py
Serve it for real (credentials from GREEN_API_ID_INSTANCE / GREEN_API_TOKEN;
the `serve` extra installs FastAPI and the uvicorn server):
    pip install "green-tg-async[serve]"
    GREEN_API_WEBHOOK_TOKEN=... uvicorn --factory examples.fastapi_app:create_app
then set the instance's webhookUrl to https://your.host/green-api and its
webhookUrlToken to the same token.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from green_tg_async import AsyncGreenTelegram
from green_tg_async.bot import Context, Dispatcher, Router, filters as f
from green_tg_async.testing import FakeGreenAPI, incoming_text

router = Router()


@router.message(f.text())
async def echo(ctx: Context) -> None:
    """Answer every text with itself."""
    await ctx.answer(f"You said: {ctx.text}")


def build_app(tg: AsyncGreenTelegram, token: str) -> FastAPI:
    """The app: `/green-api` feeds the bot, `/health` is the app's own."""
    dp = Dispatcher(tg, router)
    hook = dp.webhook_app(token=token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A route's ASGI app gets no lifespan events of its own, so the
        # app starts and stops the dispatcher (and closes the client) here.
        await dp.start()
        try:
            yield
        finally:
            await dp.shutdown()
            await tg.aclose()

    api = FastAPI(lifespan=lifespan)
    # The exact path; api.mount("/green-api", hook) would redirect the bare
    # path to /green-api/.
    api.add_route("/green-api", hook, methods=["POST"])

    @api.get("/health")
    async def health() -> dict[str, Any]:
        state = await tg.breaker.state()
        return {"ok": True, "paused": state.is_open}

    return api


def create_app() -> FastAPI:
    """For `uvicorn --factory`: the client and token from the environment."""
    return build_app(AsyncGreenTelegram(), os.environ["GREEN_API_WEBHOOK_TOKEN"])


async def main() -> None:
    """Call the app as GREEN-API and a monitor would, against the fake."""
    fake = FakeGreenAPI(rate_limits=False)
    app = build_app(fake.client(), token="s3cret")
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app") as http,
    ):
        health = await http.get("/health")
        print(f"GET /health -> {health.status_code} {health.json()}")
        body = incoming_text(1234567, "hello")
        wrong = await http.post(
            "/green-api", json=body, headers={"Authorization": "Bearer nope"}
        )
        print(f"POST /green-api, wrong token -> {wrong.status_code}")
        right = await http.post(
            "/green-api", json=body, headers={"Authorization": "Bearer s3cret"}
        )
        print(f"POST /green-api -> {right.status_code}")
        again = await http.post(
            "/green-api", json=body, headers={"Authorization": "Bearer s3cret"}
        )
        print(f"POST /green-api, the same notification again -> {again.status_code}")
    for item in fake.sent_messages():
        print(f"bot -> {item['chatId']}: {item['message']}")


if __name__ == "__main__":
    asyncio.run(main())
