"""SIGKILL a bot after its answer, or while its answer is on the wire: one reply.

Real processes and real time are the point; every wait has a generous
deadline and no assertion depends on how long anything took.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from green_tg_async.testing import FakeGreenAPI
from green_tg_async.testing._server import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
BOT = str(Path(__file__).with_name("once_bot.py"))
DEADLINE = 60.0


def _env(fake: FakeGreenAPI, *, hang: bool) -> dict[str, str]:
    return {
        **os.environ,
        "GREEN_API_ID_INSTANCE": fake.id_instance,
        "GREEN_API_TOKEN": fake.api_token,
        "PYTHONPATH": str(ROOT),
        "ONCE_BOT_HANG": "1" if hang else "0",
    }


async def _kill_when(
    argv: list[str], env: dict[str, str], condition: Callable[[], bool]
) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, BOT, *argv, env=env)
    try:
        while not condition() and proc.returncode is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        assert proc.returncode is None, "the bot exited before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        await proc.wait()


async def _run(argv: list[str], env: dict[str, str]) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, BOT, *argv, env=env)
    assert await proc.wait() == 0


def _answers(out: Path) -> list[str]:
    return out.read_text().split() if out.exists() else []


async def test_a_bot_killed_after_its_answer_does_not_answer_again(
    tmp_path: Path,
) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    fake.incoming_text(1, "hi", id_message="in-1")
    out = tmp_path / "answers.txt"
    argv = [str(tmp_path / "bot.sqlite3"), "", str(out)]
    async with LoopbackServer(fake.handle_async) as server, asyncio.timeout(DEADLINE):
        argv[1] = server.url
        await _kill_when(argv, _env(fake, hang=True), lambda: bool(_answers(out)))
        await _run(argv, _env(fake, hang=False))
    assert fake.sent_texts() == ["reply to hi"]
    answers = _answers(out)
    assert answers[::2] == ["answered", "answered"]  # the handler ran twice
    assert answers[1] == answers[3]  # the second run got the recorded answer


async def test_a_bot_killed_while_its_answer_is_on_the_wire_is_settled(
    tmp_path: Path,
) -> None:
    """GREEN-API applied the send; no answer came back before the kill."""
    fake = FakeGreenAPI(rate_limits=False)
    fake.incoming_text(1, "hi", id_message="in-1")
    release = asyncio.Event()
    held = [True]

    async def handler(request: httpx.Request) -> httpx.Response:
        response = await fake.handle_async(request)
        if held[0] and request.url.path.split("/")[2] == "sendMessage":
            held[0] = False
            await release.wait()  # never answers this one while the bot lives
        return response

    out = tmp_path / "answers.txt"
    argv = [str(tmp_path / "bot.sqlite3"), "", str(out)]
    async with LoopbackServer(handler) as server:
        try:
            async with asyncio.timeout(DEADLINE):
                argv[1] = server.url
                env = _env(fake, hang=False)
                await _kill_when(argv, env, lambda: bool(fake.sent_texts()))
                await _run(argv, env)
        finally:
            release.set()
    assert fake.sent_texts() == ["reply to hi"]
    assert _answers(out) == ["answered", fake.sent_messages()[0]["idMessage"]]
