"""Client CPU per call and req/s against the raw-asyncio stand-in (issue 15 §1-2).

Run: python benchmarks/bench_cpu.py [--calls 3000] [--concurrency 16] [--runs 3]
         [--no-sdk]
The stand-in (benchmarks/standin.py) runs in its own process. Each client runs
in a fresh process of its own, so its CPU is `time.process_time()` of that
process over the timed calls, divided by the calls. Clients: raw aiohttp, raw
httpx, httpx on our aiohttp transport (`fast_http_client()`), the httpx
transport the default client sends on, driven bare (an `httpx.Request` in, an
`httpx.Response` out, no pipeline), ours with no http arguments (the
default: httpx over our own aiohttp pool), ours on `fast_http_client()`,
ours on an injected stock `httpx.AsyncClient`, and the official SDK (async and
sync; installed into a throwaway venv, skipped with a message when that
fails). Runs are interleaved; each figure is the median of `--runs`. The
server's own CPU per request is printed too: it must stay far below every
client's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from _common import sdk_python, start_standin

ID, TOKEN = "1101000001", "fake-token"

# One client's load, run as `python -c CLIENT kind url calls concurrency`.
CLIENT = r"""
import asyncio, itertools, json, sys, time
kind, url, calls, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ID, TOKEN = "1101000001", "fake-token"
target = f"{url}/waInstance{ID}/checkAccount/{TOKEN}"
numbers = itertools.count(79000000000)

async def setup():
    if kind == "raw aiohttp":
        import aiohttp
        session = aiohttp.ClientSession()
        async def call():
            async with session.post(target, json={"phoneNumber": next(numbers)}) as r:
                return json.loads(await r.read())
        return call, session.close
    if kind in ("raw httpx", "httpx + aiohttp transport"):
        import httpx
        from green_tg_async import fast_http_client
        http = fast_http_client() if "aiohttp" in kind else httpx.AsyncClient()
        async def call():
            r = await http.post(target, json={"phoneNumber": next(numbers)})
            return json.loads(r.content)
        return call, http.aclose
    if kind == "our httpx transport, bare":  # what the default client sends on
        import httpx
        from green_tg_async._aiohttp_transport import AiohttpTransport
        from green_tg_async._transport import _Requests
        pool = AiohttpTransport()
        requests = _Requests(httpx.AsyncClient(timeout=30))
        url_ = httpx.URL(target)
        headers = httpx.Headers({"Content-Type": "application/json"})
        async def call():
            body = json.dumps({"phoneNumber": next(numbers)}).encode()
            request = requests.build("POST", url_, content=body, headers=headers)
            r = await pool.handle_async_request(request)
            return json.loads(r.content)
        return call, pool.aclose
    if kind.startswith("ours"):
        import httpx
        from green_tg_async import AsyncGreenTelegram, RateLimits, fast_http_client
        from green_tg_async.stores import MemoryStore
        extra = {}  # "ours, default": no http arguments
        if "fast" in kind:
            extra = {"http_client": fast_http_client()}
        elif "stock" in kind:
            extra = {"http_client": httpx.AsyncClient(timeout=30)}
        tg = AsyncGreenTelegram(ID, TOKEN, api_url=url, store=MemoryStore(),
                                limits=RateLimits(enabled=False), **extra)
        async def call():
            return await tg.service.check_account(next(numbers))
        async def close():
            await tg.aclose()
            if extra:
                await extra["http_client"].aclose()
        return call, close
    from telegram_api_client_python import API
    api = API.GreenAPI(ID, TOKEN, host=url)
    if kind == "SDK async":
        async def call():
            return await api.serviceMethods.checkAccountAsync(next(numbers))
        async def close():
            return None
        return call, close
    raise SystemExit(f"unknown client {kind}")

async def run(call, n):
    per = n // conc
    async def worker():
        for _ in range(per):
            await call()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return per * conc

def sync_sdk():
    from concurrent.futures import ThreadPoolExecutor
    from telegram_api_client_python import API
    api = API.GreenAPI(ID, TOKEN, host=url)
    def load(n):
        for _ in range(n):
            api.serviceMethods.checkAccount(next(numbers))
    per = calls // conc
    with ThreadPoolExecutor(conc) as pool:
        list(pool.map(load, [20] * conc))  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        list(pool.map(load, [per] * conc))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return per * conc, cpu, wall

async def main():
    if kind == "SDK sync":
        done, cpu, wall = sync_sdk()
    else:
        call, close = await setup()
        await run(call, 20 * conc)  # warm-up: connections, imports
        cpu, wall = time.process_time(), time.perf_counter()
        done = await run(call, calls)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await close()
    print(json.dumps({"rps": done / wall, "cpu_us": cpu / done * 1e6}))

asyncio.run(main())
"""

OURS = (
    "raw aiohttp",
    "raw httpx",
    "httpx + aiohttp transport",
    "our httpx transport, bare",
    "ours, default",
    "ours, fast_http_client()",
    "ours, stock httpx",
)


def _client(
    python: str, kind: str, url: str, calls: int, conc: int
) -> dict[str, float]:
    done = subprocess.run(
        [python, "-c", CLIENT, kind, url, str(calls), str(conc)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-sdk", action="store_true")
    args = parser.parse_args()
    sdk = None if args.no_sdk else sdk_python()
    clients = [(sys.executable, k) for k in OURS]
    if sdk is not None:
        clients += [(sdk, "SDK async"), (sdk, "SDK sync")]
    server, url = start_standin()

    def stats() -> dict[str, float]:
        assert server.stdin is not None
        assert server.stdout is not None
        server.stdin.write("stats\n")
        server.stdin.flush()
        return dict(json.loads(server.stdout.readline()))

    results: dict[str, list[dict[str, float]]] = {k: [] for _, k in clients}
    server_us: list[float] = []
    try:
        for _ in range(args.runs):
            for python, kind in clients:  # interleaved: one of each per round
                before = stats()
                results[kind].append(
                    _client(python, kind, url, args.calls, args.concurrency)
                )
                after = stats()
                served = after["requests"] - before["requests"]
                server_us.append((after["cpu"] - before["cpu"]) / served * 1e6)
    finally:
        server.stdin.close()
        server.wait()
    print(
        f"C={args.concurrency}, {args.calls} checkAccount calls, median of {args.runs}"
    )
    print("| client | req/s | CPU per call |")
    print("|---|---:|---:|")
    for _, kind in clients:
        rps = statistics.median(r["rps"] for r in results[kind])
        cpu = statistics.median(r["cpu_us"] for r in results[kind])
        print(f"| {kind} | {rps:,.0f} | {cpu:,.0f} µs |")
    print(f"| (stand-in server) | | {statistics.median(server_us):,.0f} µs |")


if __name__ == "__main__":
    main()
