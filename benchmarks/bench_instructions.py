"""Instructions per call under callgrind: a figure that does not move with load.

Run: python benchmarks/bench_instructions.py [--clients raw,ours] [--calls 2560]

CPU time on a shared 2-core machine swings by a third from run to run
(`bench_wan.py`); the number of instructions a call executes does not. Each
client makes `--calls` and then 512 `checkAccount` calls at C=64 against the
stand-in (`standin.py`, plain HTTP on loopback, in its own process and not
under valgrind), each run a process of its own under
`valgrind --tool=callgrind`; the difference of the two totals divided by the
difference of the calls is the cost of one call, start-up and warm-up
excluded. Clients: "raw" is aiohttp's `session.post(json=...)`, "ours" is
`check_account` on the default client (limiter off). Needs valgrind; takes
about a minute per client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FEW = 512
CONCURRENCY = 64


async def drive(kind: str, url: str, calls: int) -> None:
    sys.path.insert(0, str(HERE))
    numbers = iter(range(79000000000, 79999999999))
    if kind == "raw":
        import aiohttp
        from _common import ID, TOKEN

        session = aiohttp.ClientSession()
        target = f"{url}/waInstance{ID}/checkAccount/{TOKEN}"

        async def call() -> Any:
            body = {"phoneNumber": next(numbers)}
            async with session.post(target, json=body) as response:
                return json.loads(await response.read())

        close = session.close
    else:
        from _common import unlimited_client

        tg = unlimited_client(url)

        async def call() -> Any:
            return await tg.service.check_account(next(numbers))

        close = tg.aclose

    async def worker(n: int) -> None:
        for _ in range(n):
            assert await call()

    await asyncio.gather(*(worker(4) for _ in range(CONCURRENCY)))  # warm-up
    await asyncio.gather(*(worker(calls // CONCURRENCY) for _ in range(CONCURRENCY)))
    await close()


def instructions(kind: str, url: str, calls: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--role", "client", "--kind", kind]
    command += ["--url", url, "--calls", str(calls)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no callgrind total for {kind}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", default="raw,ours")
    parser.add_argument("--calls", type=int, default=2560)
    parser.add_argument("--role", default="driver")
    parser.add_argument("--kind", default="")
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    if args.role == "client":
        asyncio.run(drive(args.kind, args.url, args.calls))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    sys.path.insert(0, str(HERE))
    from _common import start_standin

    server, url = start_standin()
    try:
        per_call = {}
        for kind in args.clients.split(","):
            many = instructions(kind, url, args.calls)
            few = instructions(kind, url, FEW)
            per_call[kind] = (many - few) / (args.calls - FEW)
            print(f"{kind}: {per_call[kind] / 1000:,.0f}k instructions per call")
        if {"raw", "ours"} <= per_call.keys():
            print(f"ours / raw: {per_call['ours'] / per_call['raw']:.2f}x")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
