"""RedisStore on Redis Cluster, and every redis-py failure mapped to our error.

The cluster tests need REDIS_CLUSTER_URL (`.ci/redis-cluster.sh start DIR`);
the rest run without any server, or on the single Redis of `redis_url`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import (
    ClusterDownError,
    ConnectionError as RedisConnectionError,
    RedisClusterException,
)

from green_tg_async import AccountCheck, RateLimits, StoreUnavailableError
from green_tg_async.stores import FailOpenStore, RedisStore
from green_tg_async.testing import FakeGreenAPI

KEY = "{1}:breaker"
# Per-call store deadline of the tests with hundreds of calls in flight on one
# loop: on a loaded 2-core host a call can queue for seconds before it runs.
LOADED = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("prefix", ["edge{}:", "{tenant}:", "a}b:", "x{"])
def test_a_prefix_with_braces_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix must not contain"):
        RedisStore("redis://127.0.0.1:1/0", prefix=prefix)


async def test_the_cluster_url_builds_a_cluster_client() -> None:
    for url in ("redis+cluster://127.0.0.1:7000", "rediss+cluster://127.0.0.1:7000"):
        store = RedisStore(url)
        assert isinstance(store._redis, aioredis.RedisCluster)
        await store.aclose()
    plain = RedisStore("redis://127.0.0.1:7000/0")
    assert not isinstance(plain._redis, aioredis.RedisCluster)
    await plain.aclose()


def test_a_cluster_url_with_a_database_is_refused() -> None:
    with pytest.raises(ValueError, match=r"bad Redis Cluster URL.*db"):
        RedisStore("redis+cluster://127.0.0.1:7000/15")


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="redis://"):
        RedisStore("cluster://127.0.0.1:7000")


# What redis-py raises besides RedisError (and a RedisError for comparison).
FAILURES = [
    RedisClusterException("Redis Cluster cannot be connected"),
    ClusterDownError("CLUSTERDOWN The cluster is down"),
    RuntimeError("<asyncio.Lock> is bound to a different event loop"),
    AttributeError("'NoneType' object has no attribute 'writelines'"),
    OSError("Connection reset by peer"),
    RedisConnectionError("Connection closed by server."),
]


def _breaking(exc: Exception) -> Callable[..., Any]:
    async def execute_command(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return execute_command


@pytest.mark.parametrize("exc", FAILURES, ids=lambda e: type(e).__name__)
async def test_any_failure_of_redis_py_becomes_store_unavailable(
    exc: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    monkeypatch.setattr(store._redis, "execute_command", _breaking(exc))
    operations = [
        store.breaker_get(KEY),
        store.breaker_open(KEY, until=1.0, reason="469"),
        store.limiter_admit("{1}:limiter:m", interval=1.0, burst=1),
        store.cache_get("{1}:k"),
    ]
    for operation in operations:
        with pytest.raises(StoreUnavailableError, match=type(exc).__name__) as info:
            await operation
        assert info.value.__cause__ is exc
    await store.aclose()


@pytest.mark.parametrize("exc", FAILURES, ids=lambda e: type(e).__name__)
async def test_a_call_fails_closed_or_open_whatever_redis_py_raised(
    exc: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    closed = RedisStore("redis://127.0.0.1:1/0")
    primary = RedisStore("redis://127.0.0.1:1/0")
    opened = FailOpenStore(primary)
    for store in (closed, primary):
        monkeypatch.setattr(store._redis, "execute_command", _breaking(exc))
    async with fake.client(store=closed) as tg:
        with pytest.raises(StoreUnavailableError):
            await tg.service.check_account(79876543210)
    assert fake.requests == []  # nothing sent while the store failed
    async with fake.client(store=opened) as tg:
        found = await tg.service.check_account(79876543210)
    assert found.exist
    assert len(fake.requests) == 1
    await closed.aclose()
    await opened.aclose()


async def test_a_cluster_whose_seed_node_is_dead_fails_closed_or_open() -> None:
    url = f"redis+cluster://127.0.0.1:{_free_port()}"
    closed, opened = RedisStore(url), FailOpenStore(RedisStore(url))
    # Our error, caused by redis-py's: RedisClusterException up to redis-py 8.1,
    # its subclass RedisClusterUnreachableError from 8.2. The class, not its name
    # in a message, is the contract.
    with pytest.raises(StoreUnavailableError) as admit:
        await closed.limiter_admit("{1}:limiter:m", interval=1.0, burst=1)
    assert isinstance(admit.value.__cause__, RedisClusterException)
    with pytest.raises(StoreUnavailableError) as pause:
        await closed.breaker_open(KEY, until=1.0, reason="469")
    assert isinstance(pause.value.__cause__, RedisClusterException)
    assert await opened.limiter_admit("{1}:limiter:m", interval=1.0, burst=1) == 0.0
    await opened.breaker_open(KEY, until=2e9, reason="469")  # kept locally
    assert await opened.breaker_get(KEY) is not None
    await closed.aclose()
    await opened.aclose()


@pytest.mark.redis
async def test_a_cluster_url_pointing_at_a_single_server_fails_closed(
    redis_url: str,
) -> None:
    host = redis_url.split("://", 1)[1].split("/", 1)[0]
    store = RedisStore(f"redis+cluster://{host}")
    with pytest.raises(StoreUnavailableError, match="Cluster mode is not enabled"):
        await store.breaker_get(KEY)
    await store.aclose()


@pytest.fixture
def sent_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the commands redis-py packs from now on, on any connection."""
    names: list[str] = []
    one, many = AbstractConnection.pack_command, AbstractConnection.pack_commands

    def pack_command(self: Any, *args: Any) -> Any:
        names.append(str(args[0]).upper())
        return one(self, *args)

    def pack_commands(self: Any, commands: Any) -> Any:
        names.extend(str(command[0]).upper() for command in commands)
        return many(self, commands)

    monkeypatch.setattr(AbstractConnection, "pack_command", pack_command)
    monkeypatch.setattr(AbstractConnection, "pack_commands", pack_commands)
    return names


async def test_breaker_changes_are_one_script_call_without_watch_or_multi(
    any_redis_url: str, redis_prefix: str, sent_commands: list[str]
) -> None:
    """A closed breaker's success costs one command; nothing uses WATCH/MULTI."""
    store = RedisStore(any_redis_url, prefix=redis_prefix, timeout=5.0)
    await store.breaker_get(KEY)  # connected, slot map loaded
    await store.breaker_success(KEY, now=1.0)  # loads the script
    before = len(sent_commands)
    await store.breaker_success(KEY, now=1.0)
    assert sent_commands[before:] == ["EVALSHA"]
    await store.breaker_open(KEY, until=100.0, reason="469")
    await store.breaker_failure(KEY, threshold=1, until=50.0, reason="5xx")
    assert await store.breaker_probe(KEY, now=100.0, lease_until=160.0)
    await store.breaker_release(KEY, lease_until=160.0)
    record = await store.breaker_get(KEY)
    await store.aclose()
    assert record is not None
    assert (record.open_until, record.reason, record.failures) == (100.0, "469", 1)
    assert not {"WATCH", "MULTI", "EXEC"} & set(sent_commands)


@pytest.mark.redis
@pytest.mark.redis_cluster
async def test_an_injected_cluster_client_works_and_is_never_closed(
    redis_cluster_url: str, redis_prefix: str
) -> None:
    seed = "redis://" + redis_cluster_url.removeprefix("redis+cluster://")
    client = aioredis.RedisCluster.from_url(seed)
    store = RedisStore(client, prefix=redis_prefix, timeout=5.0)
    await store.breaker_open(KEY, until=2e9, reason="469")
    assert await store.limiter_admit("{1}:limiter:m", interval=1.0, burst=1) == 0.0
    await store.aclose()
    assert await client.hget(f"{redis_prefix}{KEY}", "reason") == b"469"
    assert repr(store) == f"<RedisStore prefix={redis_prefix!r} client=injected>"
    await client.aclose()


async def _check_all(
    store: RedisStore, fake: FakeGreenAPI, count: int, **options: Any
) -> list[Any]:
    """The outcomes of `check_accounts()` for `count` numbers of `fake`."""
    numbers = [79000000000 + i for i in range(count)]
    async with fake.client(store=store, limits=RateLimits(enabled=False)) as tg:
        stream = tg.service.check_accounts(numbers, **options)
        return [outcome async for _, outcome in stream]


@pytest.mark.redis
@pytest.mark.redis_cluster
async def test_many_instances_on_fresh_cluster_clients_all_get_their_answers(
    redis_cluster_url: str, redis_prefix: str
) -> None:
    """30 instances (every master owns some) on 6 clients that start cold under
    concurrent use (50 calls at once each): every number is answered, none hangs.
    (A client's first call loads the cluster map: ~65 ms of CPU, so a few.)"""
    stores = [
        RedisStore(redis_cluster_url, prefix=redis_prefix, timeout=LOADED)
        for _ in range(6)
    ]
    runs = [
        _check_all(
            stores[n % 6],
            FakeGreenAPI(id_instance=str(1101000100 + n), rate_limits=False),
            20,
            concurrency=10,
        )
        for n in range(30)
    ]
    async with asyncio.timeout(120):  # generous: a hang fails here, not for ever
        outcomes = [outcome for run in await asyncio.gather(*runs) for outcome in run]
    for store in stores:
        await store.aclose()
    assert len(outcomes) == 30 * 20
    assert [o for o in outcomes if not isinstance(o, AccountCheck)] == []


@pytest.mark.redis
@pytest.mark.redis_cluster
async def test_more_concurrent_calls_than_redis_py_s_cluster_default_of_100(
    redis_cluster_url: str, redis_prefix: str
) -> None:
    """One instance's keys live on one master; 150 checks at once all pass
    there, as on a single server (redis-py's cluster client refuses the 101st
    connection to a node unless told otherwise)."""
    store = RedisStore(redis_cluster_url, prefix=redis_prefix, timeout=LOADED)
    fake = FakeGreenAPI(rate_limits=False)
    outcomes = await _check_all(store, fake, 300, concurrency=150, force=True)
    await store.aclose()
    assert len(outcomes) == 300
    assert [o for o in outcomes if not isinstance(o, AccountCheck)] == []


@pytest.mark.parametrize(("query", "cap"), [("", 2**31), ("?max_connections=7", 7)])
def test_a_cluster_url_may_still_cap_the_connections(query: str, cap: int) -> None:
    store = RedisStore(f"redis+cluster://127.0.0.1:7000{query}")
    assert isinstance(store._redis, aioredis.RedisCluster)
    seeds = list(store._redis.nodes_manager.startup_nodes.values())
    assert [node.max_connections for node in seeds] == [cap]
