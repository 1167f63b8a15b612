"""SIGKILL a polling bot at any moment, start it again: every notification is handled.

And two replicas on one Redis: one is killed for good, the other takes over.

Real processes and real time are the point here; every wait has a generous
deadline and none is a fixed sleep that the assertions depend on.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from green_tg_async.testing import FakeGreenAPI
from green_tg_async.testing._server import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
BOT = str(Path(__file__).with_name("crash_bot.py"))
MESSAGES = 60
FAKE_INSTANCE = FakeGreenAPI().id_instance
DEADLINE = 60.0


@pytest.fixture
async def served_fake() -> AsyncIterator[tuple[FakeGreenAPI, str]]:
    fake = FakeGreenAPI(rate_limits=False)
    for n in range(MESSAGES):
        fake.incoming_text(n % 4 + 1, f"m{n}", id_message=f"id-{n}")
    async with LoopbackServer(fake.handle_async) as server:
        yield fake, server.url


def _env(fake: FakeGreenAPI) -> dict[str, str]:
    return {
        **os.environ,
        "GREEN_API_ID_INSTANCE": fake.id_instance,
        "GREEN_API_TOKEN": fake.api_token,
        "PYTHONPATH": str(ROOT),
    }


def _handled(out: Path) -> list[str]:
    if not out.exists():
        return []
    return [line for line in out.read_text().splitlines() if line.startswith("id-")]


async def _run_until(
    argv: list[str], env: dict[str, str], out: Path, kill_after: int | None
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, BOT, *argv, env=env, cwd=ROOT
    )
    try:
        async with asyncio.timeout(DEADLINE):
            if kill_after is None:
                assert await proc.wait() == 0
                return
            while len(_handled(out)) < kill_after and proc.returncode is None:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _crash_twice_then_finish(
    fake: FakeGreenAPI, argv: list[str], out: Path
) -> list[str]:
    env = _env(fake)
    await _run_until(argv, env, out, kill_after=7)
    await _run_until(argv, env, out, kill_after=len(_handled(out)) + 19)
    await _run_until(argv, env, out, kill_after=None)
    return _handled(out)


def _check(fake: FakeGreenAPI, handled: list[str]) -> None:
    assert set(handled) == {f"id-{n}" for n in range(MESSAGES)}
    assert not fake.queue  # everything was deleted from GREEN-API's queue
    # Redeliveries are limited to what was in flight at each kill.
    assert len(handled) - MESSAGES <= 2 * 16


async def test_sqlite_bot_survives_sigkill(
    served_fake: tuple[FakeGreenAPI, str], tmp_path: Path
) -> None:
    fake, url = served_fake
    out = tmp_path / "handled.txt"
    argv = ["sqlite", str(tmp_path / "bot.sqlite3"), url, str(out)]
    _check(fake, await _crash_twice_then_finish(fake, argv, out))


async def test_redis_bot_survives_sigkill(
    served_fake: tuple[FakeGreenAPI, str],
    tmp_path: Path,
    any_redis_url: str,
    redis_prefix: str,
) -> None:
    fake, url = served_fake
    out = tmp_path / "handled.txt"
    argv = ["redis", any_redis_url, url, str(out), redis_prefix]
    _check(fake, await _crash_twice_then_finish(fake, argv, out))


async def test_two_replicas_on_redis_one_killed_for_good_the_other_finishes(
    served_fake: tuple[FakeGreenAPI, str],
    tmp_path: Path,
    redis_url: str,
    redis_prefix: str,
) -> None:
    """Issue 21: each message once, nothing stranded in the dead one's claims.

    The victim handles one chat at a time and blocks in its first handler;
    it is killed there, holding that claim and the ones it took meanwhile.
    The survivor, on its own, takes them over when they run out.
    """
    fake, url = served_fake
    victim_out, survivor_out = tmp_path / "victim.txt", tmp_path / "survivor.txt"
    env = _env(fake)
    victim = await asyncio.create_subprocess_exec(
        sys.executable,
        BOT,
        "redis",
        redis_url,
        url,
        str(victim_out),
        redis_prefix,
        env={
            **env,
            "CRASH_BOT_HANG_FIRST": "1",
            "CRASH_BOT_CONCURRENCY": "1",
            "CRASH_BOT_REPLICA": "pod-0",
        },
        cwd=ROOT,
    )
    try:
        async with asyncio.timeout(DEADLINE):
            # Blocked in its first handler, it takes (records, deletes) up to
            # max_pending = 4 notifications, then waits: kill it there.
            while len(fake.queue) > MESSAGES - 4 or "blocked" not in (  # noqa: ASYNC110
                victim_out.read_text() if victim_out.exists() else ""
            ):
                await asyncio.sleep(0.005)
            survivor = asyncio.create_task(
                _run_until(
                    ["redis", redis_url, url, str(survivor_out), redis_prefix],
                    {**env, "CRASH_BOT_REPLICA": "pod-1"},
                    survivor_out,
                    kill_after=None,
                )
            )
            victim.send_signal(signal.SIGKILL)
            await victim.wait()
            await survivor
    finally:
        if victim.returncode is None:
            victim.kill()
            await victim.wait()
    handled = _handled(victim_out) + _handled(survivor_out)
    assert sorted(handled) == sorted(f"id-{n}" for n in range(MESSAGES))  # once each
    assert not fake.queue
    assert await _inbox_left(redis_url, redis_prefix) == 0


async def _inbox_left(url: str, prefix: str) -> int:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        return int(
            await client.hlen(f"{prefix}{{{FAKE_INSTANCE}}}:bot:inbox:main:items")
        )
    finally:
        await client.aclose()
