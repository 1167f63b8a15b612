"""A GREEN-API stand-in fast enough to measure clients: raw asyncio.Protocol.

Run: python benchmarks/standin.py [--port 0]
Prints its URL on the first line. HTTP/1.1 keep-alive, bodies by
Content-Length, one canned JSON answer per method (checkAccount, sendMessage,
getStateInstance; 404 otherwise). A line "stats" on stdin prints
{"requests": N, "cpu": process seconds} so a benchmark can report the server's
own cost per request and show it is not the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Final

_ANSWERS: Final = {
    b"checkAccount": {"exist": True, "chatId": "10000000"},
    b"sendMessage": {"idMessage": "1769676078000"},
    b"getStateInstance": {"stateInstance": "authorized"},
}


def _response(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: keep-alive\r\n\r\n" + body
    )


RESPONSES: Final = {
    method: _response(b"200 OK", json.dumps(answer).encode())
    for method, answer in _ANSWERS.items()
}
NOT_FOUND: Final = _response(b"404 Not Found", b'{"message":"not found"}')
served = 0


class Http(asyncio.Protocol):
    """Parse pipelined requests from one connection and answer each."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        global served
        buffer = self.buffer + data if self.buffer else data
        out = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            at = buffer.find(b"Content-Length: ", 0, end)  # aiohttp, httpx, requests
            if at < 0:
                at = buffer.lower().find(b"content-length: ", 0, end)
            length = int(buffer[at + 16 : buffer.find(b"\r", at)]) if at >= 0 else 0
            total = end + 4 + length
            if len(buffer) < total:
                break
            # "POST /waInstance1/checkAccount/token HTTP/1.1": the 3rd path part.
            start = buffer.find(b"/", buffer.find(b"/", 0, end) + 1, end) + 1
            method = buffer[start : buffer.find(b"/", start, end)]
            out.append(RESPONSES.get(method, NOT_FOUND))
            buffer = buffer[total:]
        if out:
            served += len(out)
            assert self.transport is not None
            self.transport.write(b"".join(out))
        self.buffer = buffer


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", port)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while line := await reader.readline():
        if line.strip() == b"stats":
            stats = {"requests": served, "cpu": time.process_time()}
            print(json.dumps(stats), flush=True)
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(main(parser.parse_args().port))
