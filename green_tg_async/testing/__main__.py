"""`python -m green_tg_async.testing serve --port N`: the fake on loopback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Sequence

from ._fake import FakeGreenAPI
from ._server import LoopbackServer


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a `FakeGreenAPI` until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m green_tg_async.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a FakeGreenAPI over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--id-instance", default="1101000001")
    serve.add_argument("--lookup-limit", type=int, default=None)
    serve.add_argument(
        "--no-rate-limits",
        dest="rate_limits",
        action="store_false",
        help="never answer 429 (for load tests)",
    )
    args = parser.parse_args(argv)
    fake = FakeGreenAPI(
        id_instance=args.id_instance,
        lookup_limit=args.lookup_limit,
        rate_limits=args.rate_limits,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(fake, args.host, args.port))
    return 0


async def _serve(fake: FakeGreenAPI, host: str, port: int) -> None:
    async with LoopbackServer(fake.handle_async, host=host, port=port) as server:
        # The token is the fake's own test token, never a real one.
        print(
            f"FakeGreenAPI on {server.url} (idInstance {fake.id_instance}, "
            f"token {fake.api_token})",
            flush=True,
        )
        await server.serve_forever()


if __name__ == "__main__":
    raise SystemExit(main())
