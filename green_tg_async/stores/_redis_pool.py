"""The connection pool of a `RedisStore` built from a URL.

redis-py's default pool refuses a command outright ("Too many connections")
once `max_connections` are busy, so a burst of webhooks turns into HTTP 500s
that a moment's wait would have served. This pool waits for a free connection
instead, for at most the store's own timeout.
"""

from __future__ import annotations

import redis.asyncio as aioredis

__all__ = ["DEFAULT_MAX_CONNECTIONS", "client_from_url"]

DEFAULT_MAX_CONNECTIONS = 100
"""Connections per store (redis-py's default). A bot needs about
`concurrency` plus a few; raise it with `?max_connections=N` in the URL."""


def client_from_url(url: str, *, timeout: float) -> aioredis.Redis:
    """A client whose pool waits up to `timeout` s for a free connection.

    `max_connections` in the URL's query string sizes the pool (default
    `DEFAULT_MAX_CONNECTIONS`); the client closes the pool with it.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url, timeout=timeout, max_connections=DEFAULT_MAX_CONNECTIONS
    )
    return aioredis.Redis.from_pool(pool)
