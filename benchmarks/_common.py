"""Helpers shared by the benchmark scripts: a throughput loop and a served fake."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from green_tg_async import AsyncGreenTelegram

ID, TOKEN = "1101000001", "fake-token"
"""The instance and token the stand-ins answer for."""


def unlimited_client(
    url: str, http: httpx.AsyncClient | None = None
) -> AsyncGreenTelegram:
    """Our client for `url` with the limiter off and a store of its own."""
    from green_tg_async import AsyncGreenTelegram, RateLimits
    from green_tg_async.stores import MemoryStore

    return AsyncGreenTelegram(
        ID,
        TOKEN,
        api_url=url,
        http_client=http,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
    )


async def rate(call: Callable[[], Awaitable[object]], calls: int, conc: int) -> float:
    """Requests per second for `calls` calls spread over `conc` concurrent workers."""
    per_worker = calls // conc

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return per_worker * conc / (time.perf_counter() - started)


def start_standin() -> tuple[subprocess.Popen[str], str]:
    """The stand-in (`standin.py`) in a process of its own, and its URL.

    Its stdin takes "stats" lines; the caller terminates it.
    """
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("standin.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


@contextlib.contextmanager
def served_fake() -> Iterator[str]:
    """Serve a FakeGreenAPI (no 429s) in another process; yield its URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "green_tg_async.testing", "serve", "--no-rate-limits"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
    finally:
        server.terminate()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


SDK = "telegram-api-client-python==1.0.1"
"""The official SDK the comparisons run, pinned."""


def sdk_python() -> str | None:
    """A throwaway venv's python with the official SDK; None (said why) if not."""
    import tempfile
    import venv
    from pathlib import Path

    home = Path(tempfile.mkdtemp(prefix="green-sdk-"))
    venv.create(home, with_pip=True)
    python = str(home / "bin" / "python")
    done = subprocess.run(
        [python, "-m", "pip", "install", "-q", SDK], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"skipping the official SDK: pip install {SDK} failed", file=sys.stderr)
        return None
    return python
