"""Offline demo: number checks through the safe pipeline against a local stand-in.

Run: python examples/demo.py   (no account, no network)

The stand-in answers like GREEN-API: numbers ending in an even digit have an
account, and the 6th look-up gets HTTP 469. Watch the client pause the
instance and refuse the rest locally, without sending them.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from green_tg_async import (
    AsyncGreenTelegram,
    CircuitOpenError,
    GreenAPIError,
    RateLimits,
)

NUMBERS = [
    "+7 987 654-32-10",
    "79876543211",
    "not a number",
    "79876543212",
    "79876543213",
    "79876543214",
    "79876543215",
    "79876543216",
]


def stand_in() -> httpx.MockTransport:
    """Answer checkAccount like GREEN-API, with a 469 on the 6th look-up."""
    lookups = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal lookups
        lookups += 1
        if lookups == 6:
            return httpx.Response(469, text="User get contact info limit reached")
        phone = json.loads(request.content)["phoneNumber"]
        exists = phone % 2 == 0
        return httpx.Response(
            200, json={"exist": exists, "chatId": str(phone)[-8:] if exists else ""}
        )

    return httpx.MockTransport(handle)


async def main() -> None:
    """Check NUMBERS one by one and print what happened to each."""
    http = httpx.AsyncClient(transport=stand_in())
    async with (
        http,
        AsyncGreenTelegram(
            "4100000001",
            "demo-token",
            http_client=http,
            limits=RateLimits(per_method={"checkAccount": 20}),
        ) as tg,
    ):
        for number in NUMBERS:
            try:
                await tg.service.check_account(number)
            except ValueError:
                pass
            except CircuitOpenError:
                pass
            except GreenAPIError:
                pass
        await tg.breaker.state()
        await tg.breaker.reset()  # the pause is process-wide; leave it clean


if __name__ == "__main__":
    asyncio.run(main())
