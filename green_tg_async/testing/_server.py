"""A minimal HTTP/1.1 server on loopback for the fake (no web framework needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

__all__ = ["Handler", "LoopbackServer"]

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class LoopbackServer:
    """Serve `handler(request) -> response` on 127.0.0.1 (keep-alive, Content-Length).

    A handler raising an httpx timeout never answers (the connection stays
    open until the client closes it); any other httpx transport error closes
    the connection without an answer.

    Example::

        async with LoopbackServer(handler) as server:
            print(server.url)
    """

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0):
        self.handler = handler
        self.url = ""
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[object]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{self._host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        # Connections still open (a keep-alive client not yet closed) end
        # here, so no handler task outlives the server.
        for writer in self._writers:
            writer.close()  # the handler reads EOF and returns
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        assert self._server is not None
        await self._server.serve_forever()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        self._writers.add(writer)
        try:
            while (request := await _read_request(reader, self.url)) is not None:
                try:
                    response = await self.handler(request)
                except httpx.TimeoutException:  # the answer is lost: none comes
                    await reader.read()  # until the client gives up
                    break
                except httpx.TransportError:  # the connection drops unanswered
                    break
                writer.write(_head(response) + response.content)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


async def _read_request(
    reader: asyncio.StreamReader, base: str
) -> httpx.Request | None:
    line = await reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while (raw := await reader.readline()) not in (b"\r\n", b""):
        name, value = raw.decode("latin-1").split(":", 1)
        headers.append((name.strip(), value.strip()))
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
    body = await reader.readexactly(length)
    return httpx.Request(method, base + target, headers=headers, content=body)


def _head(response: httpx.Response) -> bytes:
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding"):
            lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(response.content)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
