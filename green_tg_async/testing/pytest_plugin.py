"""Opt-in pytest fixtures: `pytest_plugins = ["green_tg_async.testing.pytest_plugin"]`.

Not registered through an entry point, so installing green-tg-async never
changes another project's test run. The async fixture is a pytest-asyncio
fixture, so it works in pytest-asyncio's default strict mode (mark your tests
`@pytest.mark.asyncio`) as well as with `asyncio_mode = "auto"`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

try:
    import pytest_asyncio
except ImportError as exc:  # a plain ImportError would not say what to install
    raise ImportError(
        "green_tg_async.testing.pytest_plugin needs pytest-asyncio: "
        "pip install pytest-asyncio"
    ) from exc

from green_tg_async import AsyncGreenTelegram, RateLimits, RetryPolicy
from green_tg_async.stores import MemoryStore

from ._fake import FakeGreenAPI

__all__ = ["green_client", "green_fake"]


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def green_fake() -> FakeGreenAPI:
    """A fresh `FakeGreenAPI` for each test.

    It does not enforce per-second rates, because `green_client` does not
    wait for them; build `FakeGreenAPI()` yourself to test 429 handling.
    """
    return FakeGreenAPI(rate_limits=False)


@pytest_asyncio.fixture(loop_scope="function")
async def green_client(green_fake: FakeGreenAPI) -> AsyncIterator[AsyncGreenTelegram]:
    """A client of `green_fake`: own store, no limiter waits, no retry sleeps."""
    async with green_fake.client(
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(sleep=_no_sleep),
    ) as client:
        yield client
