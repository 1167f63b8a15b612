from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from green_tg_async import AsyncGreenTelegram
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import RecordingSleep, bot_client


@pytest.fixture
def fake() -> FakeGreenAPI:
    return FakeGreenAPI(rate_limits=False)


@pytest.fixture
async def tg(
    fake: FakeGreenAPI, sleep: RecordingSleep
) -> AsyncIterator[AsyncGreenTelegram]:
    async with bot_client(fake, sleep) as client:
        yield client
