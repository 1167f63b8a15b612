"""`run_polling(handle_signals=False)`: an embedding application keeps its own."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from green_tg_async import AsyncGreenTelegram
from green_tg_async.bot import Dispatcher, Router


async def _poll(tg: AsyncGreenTelegram, **options: Any) -> list[int]:
    loop = asyncio.get_running_loop()
    seen: list[int] = []
    original = loop.add_signal_handler

    def record(sig: int, callback: Any, *args: Any) -> None:
        seen.append(sig)
        original(sig, callback, *args)

    loop.add_signal_handler = record  # type: ignore[method-assign,assignment]
    try:
        await asyncio.wait_for(
            Dispatcher(tg, Router()).run_polling(until_empty=True, **options), 5
        )
    finally:
        del loop.add_signal_handler
    return seen


async def test_run_polling_handles_sigint_and_sigterm_by_default(
    tg: AsyncGreenTelegram,
) -> None:
    assert await _poll(tg) == [signal.SIGINT, signal.SIGTERM]


async def test_handle_signals_false_leaves_the_applications_handlers(
    tg: AsyncGreenTelegram,
) -> None:
    assert await _poll(tg, handle_signals=False) == []
