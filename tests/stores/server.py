"""The loopback GREEN-API stand-in as a process of its own, for multi-process tests.

Run as `python -m tests.stores.server found|limit|slow-limit` from the repository
root ("slow-limit" answers 469 after 2 s). It
prints its URL, serves until stdin closes, then prints the arrivals as JSON
(times from the system-wide monotonic clock). Serving outside the test process
keeps the test runner's own load (coverage tracing) out of the timestamps.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from tests.loopback import LoopbackServer

ANSWERS: dict[str, tuple[int, Any]] = {
    "found": (200, {"exist": True, "chatId": "10000000"}),
    "limit": (469, {"message": "User get contact info limit reached"}),
}
SLOW = {"slow-limit": ("limit", 2.0)}


async def main(mode: str) -> None:
    mode, delay = SLOW.get(mode, (mode, 0.0))
    answer = ANSWERS[mode]

    async def handler(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(delay)
        return answer

    async with LoopbackServer(handler) as server:
        print(server.url, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
    arrivals = [{"at": a.at, "body": a.body.decode()} for a in server.arrivals]
    print(json.dumps(arrivals), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
