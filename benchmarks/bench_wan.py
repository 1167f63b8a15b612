"""Clients over HTTPS with real round trips: a TLS server behind a latency proxy.

Run: python benchmarks/bench_wan.py [--rtt-ms 20] [--charge-connect]
         [--levels 1,16,64] [--calls 2000] [--c1-calls 100] [--runs 3]
         [--https-proxy]

Three kinds of process, so no party's CPU hides another's:
- the server: benchmarks/standin.py's canned answers behind TLS 1.3, with a
  CA and a certificate for 127.0.0.1 made at run time (openssl); it counts
  the TCP connections it accepts and the TLS handshakes it completes;
- the latency proxy: relays bytes both ways and delays each chunk by RTT/2 in
  each direction; with --charge-connect a new connection also pays the TCP
  handshake (its first bytes reach the server one RTT later);
- each client, in a fresh process: it warms up (10 calls per worker), waits
  while the server and proxy counters are read, then runs the timed calls.

Clients: raw aiohttp (one keep-alive ClientSession), ours with no http
arguments (the default), ours on `fast_http_client()`, ours on a stock
`httpx.AsyncClient()`, and the official SDK (async and sync, installed into
a throwaway venv; skipped with a message when that fails). Runs are
interleaved (one of each client per round and level); each figure is the
median of --runs. Per client: req/s, client CPU per call
(`time.process_time()` of its process over the timed calls), p50/p99 latency,
and the TCP connections and TLS handshakes the server saw during the timed
calls. The server's and the proxy's CPU are printed: both must stay far
below one core, or the table measures them.

Every client runs as a deployed service does: with `NO_PROXY` set (an
unrelated list, as Kubernetes and CI images set it) and a trust store the
size of a real one (certifi's bundle plus the run's CA). With --https-proxy,
a loopback CONNECT proxy sits in front of the latency proxy, `HTTPS_PROXY`
names it, and raw aiohttp runs with `trust_env=True`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ID, TOKEN

HERE = Path(__file__).resolve().parent
CLIENTS = (
    "raw aiohttp",
    "ours, default",
    "ours, fast_http_client()",
    "ours, stock httpx",
)
SDK_CLIENTS = ("SDK async", "SDK sync")
WARM_UP = 10  # calls per worker before the timed ones
NO_PROXY = "localhost,.svc.cluster.local,.internal"  # none of them is 127.0.0.1


# -- certificates --------------------------------------------------------


def make_certificates(home: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 it signed (EC P-256)."""
    ca_key, ca, key, csr, cert = (
        home / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = home / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_ext = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"]
    for command in (
        [
            *("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "1"),
            *("-subj", "/CN=bench-wan CA", "-addext", ca_ext[0], "-addext", ca_ext[1]),
        ],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [
            *(
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                ca,
                "-CAkey",
                ca_key,
                "-CAcreateserial",
            ),
            *("-out", cert, "-days", "1", "-extfile", ext),
        ],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return ca, cert, key


def trust_store(home: Path, ca: Path) -> Path:
    """certifi's bundle with `ca` added: as many roots as a real trust store."""
    import certifi

    bundle = home / "bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text() + ca.read_text())
    return bundle


# -- the server ----------------------------------------------------------


async def serve(cert: str, key: str) -> None:
    sys.path.insert(0, str(HERE))
    import standin

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    counts = {"tcp": 0, "tls": 0, "resumed": 0}
    tasks: set[asyncio.Task[None]] = set()

    class Http(standin.Http):
        """The stand-in, holding bytes that come with the end of the handshake."""

        early = b""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            if self.early:
                self.data_received(self.early)

        def data_received(self, data: bytes) -> None:
            if self.transport is None:  # start_tls has not returned yet
                self.early += data
            else:
                super().data_received(data)

    class Accept(asyncio.Protocol):
        """Count the TCP connection, then run TLS and the stand-in over it."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            counts["tcp"] += 1
            transport.pause_reading()  # the ClientHello waits for start_tls
            tasks.add(task := loop.create_task(self.secure(transport)))
            task.add_done_callback(tasks.discard)

        async def secure(self, transport: asyncio.Transport) -> None:
            http = Http()
            try:
                tls = await loop.start_tls(transport, http, context, server_side=True)
            except (OSError, ssl.SSLError):
                transport.close()
                return
            assert tls is not None
            counts["tls"] += 1
            counts["resumed"] += bool(tls.get_extra_info("ssl_object").session_reused)
            http.connection_made(tls)

    server = await loop.create_server(Accept, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)

    def stats() -> dict[str, Any]:
        return {**counts, "requests": standin.served, "cpu": time.process_time()}

    await answer_stats(stats)
    server.close()


async def answer_stats(stats: Any) -> None:
    """Print `stats()` as JSON for each line read on stdin, until EOF."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while await reader.readline():
        print(json.dumps(stats()), flush=True)


# -- the latency proxy ---------------------------------------------------


class Delayed:
    """One direction of a proxied connection: each chunk leaves `delay` later."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self.loop, self.delay = loop, delay
        self.queue: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self.out: asyncio.Transport | None = None
        self.not_before = 0.0  # --charge-connect: nothing leaves before this
        self.timer: asyncio.TimerHandle | None = None

    def push(self, data: bytes | None) -> None:
        """Queue `data` (None: close the far side once everything before it left)."""
        due = max(self.loop.time(), self.not_before) + self.delay
        self.queue.append((due, data))
        if self.timer is None:
            self.timer = self.loop.call_at(due, self.flush)

    def flush(self) -> None:
        self.timer = None
        if self.out is None:  # the upstream connection is not made yet
            self.timer = self.loop.call_later(0.001, self.flush)
            return
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            data = self.queue.popleft()[1]
            if data is None:
                self.out.close()
                self.queue.clear()
                return
            self.out.write(data)
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self.flush)


class Side(asyncio.Protocol):
    """One end of a proxied connection; what it reads goes into `into`."""

    def __init__(self, into: Delayed) -> None:
        self.into = into

    def data_received(self, data: bytes) -> None:
        self.into.push(data)

    def eof_received(self) -> bool:
        self.into.push(None)
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.into.push(None)


async def proxy(upstream: int, rtt: float, charge_connect: bool) -> None:
    loop = asyncio.get_running_loop()
    counts = {"tcp": 0}
    tasks: set[asyncio.Task[None]] = set()

    def accept() -> Side:
        counts["tcp"] += 1
        up, down = Delayed(loop, rtt / 2), Delayed(loop, rtt / 2)
        if charge_connect:
            up.not_before = loop.time() + rtt  # SYN, SYN-ACK before any byte
        client = Side(up)

        def made(transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            down.out = transport

        client.connection_made = made  # type: ignore[method-assign]

        async def connect() -> None:
            try:
                transport, _ = await loop.create_connection(
                    lambda: Side(down), "127.0.0.1", upstream
                )
            except OSError:
                down.push(None)
                return
            assert isinstance(transport, asyncio.Transport)
            up.out = transport

        tasks.add(task := loop.create_task(connect()))
        task.add_done_callback(tasks.discard)
        return client

    server = await loop.create_server(accept, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await answer_stats(lambda: {**counts, "cpu": time.process_time()})
    server.close()


# -- the CONNECT proxy (--https-proxy) ------------------------------------


async def connect_proxy() -> None:
    """An HTTP proxy that only tunnels: CONNECT host:port, then bytes both ways."""
    counts = {"tcp": 0}

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def tunnel(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        counts["tcp"] += 1
        head = await reader.readuntil(b"\r\n\r\n")
        host, _, port = head.split()[1].decode().rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(tunnel, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await answer_stats(lambda: {**counts, "cpu": time.process_time()})


# -- one client (run in its own process, maybe in the SDK's venv) --------


async def async_client(kind: str, url: str) -> tuple[Any, Any]:
    """`(call, close)` for one of the asyncio clients."""
    target = f"{url}/waInstance{ID}/checkAccount/{TOKEN}"
    numbers = iter(range(79000000000, 79999999999))
    if kind == "raw aiohttp":
        import aiohttp

        # Behind a proxy, aiohttp finds it only by looking the environment up.
        session = aiohttp.ClientSession(trust_env="HTTPS_PROXY" in os.environ)

        async def call_raw() -> Any:
            body = {"phoneNumber": next(numbers)}
            async with session.post(target, json=body) as response:
                return json.loads(await response.read())

        return call_raw, session.close
    if kind.startswith("ours"):
        import httpx
        from _common import unlimited_client

        from green_tg_async import fast_http_client

        http = None
        if kind == "ours, fast_http_client()":
            http = fast_http_client()
        elif kind == "ours, stock httpx":
            http = httpx.AsyncClient(timeout=30)
        tg = unlimited_client(url, http)

        async def call_ours() -> Any:
            return await tg.service.check_account(next(numbers))

        async def close_ours() -> None:
            await tg.aclose()
            if http is not None:
                await http.aclose()

        return call_ours, close_ours
    from telegram_api_client_python import API

    api = API.GreenAPI(ID, TOKEN, host=url)

    async def call_sdk() -> Any:
        return await api.serviceMethods.checkAccountAsync(next(numbers))

    async def close_sdk() -> None:
        return None

    return call_sdk, close_sdk


def wait_for_go() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


async def run_async(kind: str, url: str, calls: int, conc: int) -> dict[str, Any]:
    call, close = await async_client(kind, url)
    latencies: list[float] = []

    async def worker(n: int, record: bool) -> None:
        for _ in range(n):
            started = time.perf_counter()
            answer = await call()
            assert answer, answer
            if record:
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker(WARM_UP, False) for _ in range(conc)))
    wait_for_go()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(calls // conc, True) for _ in range(conc)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close()
    return result(latencies, cpu, wall)


def run_sync_sdk(url: str, calls: int, conc: int) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    from telegram_api_client_python import API

    api = API.GreenAPI(ID, TOKEN, host=url)
    numbers = iter(range(79000000000, 79999999999))
    latencies: list[float] = []

    def load(n: int) -> list[float]:
        spent = []
        for _ in range(n):
            started = time.perf_counter()
            answer = api.serviceMethods.checkAccount(next(numbers))
            assert answer.code == 200, answer.error
            spent.append(time.perf_counter() - started)
        return spent

    with ThreadPoolExecutor(conc) as pool:
        list(pool.map(load, [WARM_UP] * conc))
        wait_for_go()
        cpu, wall = time.process_time(), time.perf_counter()
        for spent in pool.map(load, [calls // conc] * conc):
            latencies += spent
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return result(latencies, cpu, wall)


def result(latencies: list[float], cpu: float, wall: float) -> dict[str, Any]:
    done = len(latencies)
    cuts = statistics.quantiles(latencies, n=100) if done > 1 else latencies * 99
    return {
        "rps": done / wall,
        "cpu_us": cpu / done * 1e6,
        "p50_ms": cuts[49] * 1e3,
        "p99_ms": cuts[98] * 1e3,
        "calls": done,
        "wall": wall,
    }


def client_main(kind: str, url: str, calls: int, conc: int) -> None:
    if kind == "SDK sync":
        out = run_sync_sdk(url, calls, conc)
    else:
        out = asyncio.run(run_async(kind, url, calls, conc))
    print(json.dumps(out), flush=True)


# -- the driver ----------------------------------------------------------


class Peer:
    """A server or proxy process: its port, and its counters on request."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def stats(self) -> dict[str, float]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def run_client(
    python: str,
    kind: str,
    url: str,
    calls: int,
    conc: int,
    env: dict[str, str],
    server: Peer,
    proxy: Peer,
) -> dict[str, Any]:
    """One client process; server and proxy counters around its timed calls."""
    args = ["--role", "client", "--kind", kind, "--url", url]
    args += ["--calls", str(calls), "--concurrency", str(conc)]
    child = subprocess.Popen(
        [python, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise SystemExit(f"{kind} failed during warm-up")
    before = server.stats(), proxy.stats()
    child.stdin.write("go\n")
    child.stdin.flush()
    line = child.stdout.readline()
    after = server.stats(), proxy.stats()
    if child.wait() != 0 or not line:
        raise SystemExit(f"{kind} failed")
    out: dict[str, Any] = json.loads(line)
    for name in ("tcp", "tls", "resumed"):
        out[name] = after[0][name] - before[0][name]
    out["server_cpu"] = after[0]["cpu"] - before[0]["cpu"]
    out["proxy_cpu"] = after[1]["cpu"] - before[1]["cpu"]
    out["served"] = after[0]["requests"] - before[0]["requests"]
    return out


def median(rows: list[dict[str, Any]], name: str) -> float:
    return float(statistics.median(row[name] for row in rows))


def report(results: dict[tuple[int, str], list[dict[str, Any]]], args: Any) -> None:
    mode = "TCP connect charged" if args.charge_connect else "TCP connect free"
    if args.https_proxy:
        mode += ", behind a loopback HTTPS (CONNECT) proxy"
    print(
        f"RTT {args.rtt_ms:g} ms ({mode}), TLS 1.3, checkAccount, "
        f"median of {args.runs} interleaved runs"
    )
    print(
        "| client | C | calls | req/s | CPU/call | p50 | p99 | TCP conns | "
        "TLS handshakes | server CPU | proxy CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (conc, kind), rows in results.items():
        wall = median(rows, "wall")
        print(
            f"| {kind} | {conc} | {median(rows, 'calls'):.0f} "
            f"| {median(rows, 'rps'):,.0f} | {median(rows, 'cpu_us'):,.0f} µs "
            f"| {median(rows, 'p50_ms'):.1f} ms | {median(rows, 'p99_ms'):.1f} ms "
            f"| {median(rows, 'tcp'):.0f} | {median(rows, 'tls'):.0f} "
            f"| {median(rows, 'server_cpu') / wall:.0%} "
            f"| {median(rows, 'proxy_cpu') / wall:.0%} |"
        )
    print("(server/proxy CPU: share of one core during that client's timed calls)")
    for (conc, kind), rows in results.items():
        raw = results.get((conc, "raw aiohttp"))
        if kind != "raw aiohttp" and raw:
            print(f"{kind} vs raw aiohttp at C={conc}: {against(rows, raw)}")


def against(rows: list[dict[str, Any]], raw: list[dict[str, Any]]) -> str:
    """Median (range) of the per-round ratios: the runs of a round are adjacent."""
    parts = []
    for name, label in (("rps", "throughput"), ("cpu_us", "CPU/call")):
        ratios = sorted(r[name] / b[name] for r, b in zip(rows, raw, strict=True))
        parts.append(
            f"{label} {statistics.median(ratios):.2f}x "
            f"({ratios[0]:.2f}-{ratios[-1]:.2f})"
        )
    return ", ".join(parts) + f", over {len(rows)} rounds"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    roles = ("driver", "server", "proxy", "connect", "client")
    parser.add_argument("--role", choices=roles)
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    parser.add_argument("--charge-connect", action="store_true")
    parser.add_argument("--levels", default="1,16,64")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--c1-calls", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default="", help="a subset, separated by ;")
    parser.add_argument("--no-sdk", action="store_true")
    parser.add_argument("--https-proxy", action="store_true")
    parser.add_argument("--sdk-python", default="", help="reuse a venv with the SDK")
    # internal: the roles' own arguments
    parser.add_argument("--cert", default="")
    parser.add_argument("--key", default="")
    parser.add_argument("--upstream", type=int, default=0)
    parser.add_argument("--kind", default="")
    parser.add_argument("--url", default="")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    if args.role == "server":
        asyncio.run(serve(args.cert, args.key))
    elif args.role == "connect":
        asyncio.run(connect_proxy())
    elif args.role == "proxy":
        asyncio.run(proxy(args.upstream, args.rtt_ms / 1e3, args.charge_connect))
    elif args.role == "client":
        client_main(args.kind, args.url, args.calls, args.concurrency)
    else:
        drive(args)


def drive(args: Any) -> None:
    from _common import sdk_python

    home = Path(tempfile.mkdtemp(prefix="bench-wan-"))
    ca, cert, key = make_certificates(home)
    wanted = [k.strip() for k in args.clients.split(";") if k.strip()] or [
        *CLIENTS,
        *SDK_CLIENTS,
    ]
    clients = [(sys.executable, k) for k in CLIENTS if k in wanted]
    if not args.no_sdk and any(k in wanted for k in SDK_CLIENTS):
        sdk = args.sdk_python or sdk_python()
        if sdk is not None:
            clients += [(sdk, k) for k in SDK_CLIENTS if k in wanted]
    bundle = trust_store(home, ca)
    env = {
        **os.environ,
        "NO_PROXY": NO_PROXY,
        "SSL_CERT_FILE": str(bundle),  # OpenSSL (aiohttp, httpx with trust_env)
        "REQUESTS_CA_BUNDLE": str(bundle),  # requests (the SDK's sync path)
        "PYTHONPATH": os.pathsep.join(
            [str(HERE.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    server = Peer("--role", "server", "--cert", str(cert), "--key", str(key))
    relay = ["--role", "proxy", "--upstream", str(server.port)]
    relay += ["--rtt-ms", str(args.rtt_ms)]
    proxy = Peer(*relay, *(["--charge-connect"] if args.charge_connect else []))
    url = f"https://127.0.0.1:{proxy.port}"
    tunnel = Peer("--role", "connect") if args.https_proxy else None
    if tunnel is not None:
        env["HTTPS_PROXY"] = f"http://127.0.0.1:{tunnel.port}"
    levels = [int(c) for c in args.levels.split(",")]
    results: dict[tuple[int, str], list[dict[str, Any]]] = {
        (c, k): [] for c in levels for _, k in clients
    }
    try:
        for _ in range(args.runs):
            for conc in levels:
                calls = args.c1_calls if conc == 1 else args.calls
                for python, kind in clients:  # interleaved
                    out = run_client(python, kind, url, calls, conc, env, server, proxy)
                    results[conc, kind].append(out)
    finally:
        server.close()
        proxy.close()
        if tunnel is not None:
            tunnel.close()
    report(results, args)


if __name__ == "__main__":
    main()
