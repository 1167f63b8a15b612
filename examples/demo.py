"""Offline demo: number checks through the safe pipeline against the built-in fake.

Run: python examples/demo.py   (no account, no network)

`FakeGreenAPI` answers like GREEN-API: numbers ending in an even digit have an
account, and the 6th distinct look-up gets HTTP 469. Watch the client pause the
instance and refuse the rest locally, without sending them.
"""

from __future__ import annotations

import asyncio

from green_tg_async import CircuitOpenError, GreenAPIError, RateLimits
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI

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


async def main() -> None:
    """Check NUMBERS one by one and print what happened to each."""
    fake = FakeGreenAPI(lookup_limit=5, rate_limits=False)
    limits = RateLimits(per_method={"checkAccount": 20})
    async with fake.client(limits=limits, store=MemoryStore()) as tg:
        for number in NUMBERS:
            try:
                found = await tg.service.check_account(number)
                print(f"{number:>18}  exist={found.exist!s:5}  chat_id={found.chat_id}")
            except ValueError as exc:
                print(f"{number:>18}  refused before sending: {exc}")
            except CircuitOpenError as exc:
                print(
                    f"{number:>18}  not sent: paused until {exc.retry_at:%H:%M:%S} UTC"
                )
            except GreenAPIError as exc:
                print(f"{number:>18}  {type(exc).__name__}: {exc}")
        state = await tg.breaker.state()
        print(f"breaker open={state.is_open} retry_at={state.retry_at}")
    print(f"requests that reached the fake: {len(fake.requests)}")


if __name__ == "__main__":
    asyncio.run(main())
