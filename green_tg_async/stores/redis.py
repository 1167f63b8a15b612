"""`RedisStore`: instance state shared by every process and host (extra `redis`).

The limiter is GCRA in one Lua script per admission, on Redis' own clock
(`TIME`), so hosts with skewed clocks agree; the theoretical arrival time is an
integer in microseconds. Breaker changes apply the same pure transitions as the
other stores, written back by a compare-and-set script (no WATCH / MULTI). Every
key carries the instance as a hash tag (`{idInstance}`) and every script touches
keys of one tag only, so they all work on Redis Cluster (`redis+cluster://`);
no key holds the token.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Final, TypeAlias, TypeVar
from urllib.parse import urlsplit

from green_tg_async._exceptions import StoreUnavailableError

from ._base import (
    BotStore,
    BreakerRecord,
    Gate,
    GatedAdmission,
    GatedLimiterStore,
    SendLog,
    SharedLimiterStore,
    StateStore,
)
from ._fallback import LocalFallback, fails_open
from ._gate import admit_gated_stepwise
from ._shared import Change, SharedBreaker

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisClusterException
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "RedisStore needs redis-py: pip install 'green-tg-async[redis]'"
    ) from exc

__all__ = ["RedisStore"]

T = TypeVar("T")
Client: TypeAlias = "aioredis.Redis | aioredis.RedisCluster"

# `redis+cluster://host:port` (or `rediss+cluster://`): a Redis Cluster, found
# from that seed node.
_CLUSTER_SCHEMES: Final = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

# Shared by the limiter scripts: Redis' clock in µs, GCRA booking, send log.
_LUA_PRELUDE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function book(key, step, tolerance)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local start = tat - tolerance
  if start < now then start = now end
  local new_tat = tat + step
  -- '%.0f': Lua's default number format keeps 14 digits, not the 16 we need.
  redis.call('SET', key, string.format('%.0f', new_tat),
             'PX', math.floor((new_tat - now) / 1000) + 60000)
  return start - now
end
local function enter(key, limit, window)
  local oldest = redis.call('LINDEX', key, limit - 1)
  if oldest then
    local wait = tonumber(oldest) + window - now
    if wait > 0 then return wait end
  end
  redis.call('LPUSH', key, string.format('%.0f', now))
  redis.call('LTRIM', key, 0, limit - 1)
  redis.call('PEXPIRE', key, math.floor(window / 1000) + 1000)
  return 0
end
"""

# KEYS[1] = limiter key, KEYS[2] = send log (optional); ARGV = step_us,
# tolerance_us, then the log's limit and window_us. Returns the wait in µs; 0
# with a log means the send was recorded in it.
_ADMIT: Final = (
    _LUA_PRELUDE
    + """
local wait = book(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait > 0 or #KEYS < 2 then return wait end
return enter(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
"""
)

# KEYS[1] = send log (newest first); ARGV = limit, window_us. Returns the wait
# in µs, or 0 after recording this send.
_ENTER: Final = (
    _LUA_PRELUDE + "return enter(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))"
)

# KEYS = limiter key, send log, then the breaker hashes; ARGV = step_us,
# tolerance_us, log limit, log window_us, breaker now, lease_until. Reads the
# breaker first and books nothing when it refuses (the rule of
# `_transitions.gate_verdict`). Returns {wait_us, refused index or -1, lease
# taken 0/1, then per breaker key: exists, open_until, reason, failures,
# probe_until}.
_ADMIT_GATED: Final = (
    _LUA_PRELUDE
    + """
local bnow = tonumber(ARGV[5])
local out = {0, -1, 0}
local refused = -1
local probe = {}
for i = 3, #KEYS do
  local h = redis.call('HGETALL', KEYS[i])
  local r = {}
  for j = 1, #h, 2 do r[h[j]] = h[j + 1] end
  local open_until = tonumber(r['open_until'] or '0')
  local probe_until = tonumber(r['probe_until'] or '0')
  table.insert(out, #h > 0 and '1' or '0')
  table.insert(out, r['open_until'] or '0')
  table.insert(out, r['reason'] or '')
  table.insert(out, r['failures'] or '0')
  table.insert(out, r['probe_until'] or '0')
  if #h > 0 and refused < 0 then
    if bnow < open_until then
      refused = i - 3
    elseif open_until > 0 then
      if probe_until > bnow then refused = i - 3 else table.insert(probe, KEYS[i]) end
    end
  end
end
if refused >= 0 then
  out[2] = refused
  return out
end
local wait = book(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait <= 0 then wait = enter(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4])) end
out[1] = wait
if wait <= 0 and #probe > 0 then
  for _, key in ipairs(probe) do redis.call('HSET', key, 'probe_until', ARGV[6]) end
  out[3] = 1
end
return out
"""
)

# KEYS[1] = limiter key; ARGV = seconds_us. Moves the arrival time forward only.
_PENALIZE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > tat then
  redis.call('SET', KEYS[1], string.format('%.0f', until_),
             'PX', math.floor(tonumber(ARGV[1]) / 1000) + 60000)
end
return 0
"""

# KEYS[1] = inbox payloads (hash), KEYS[2] = inbox order (list); ARGV = item,
# payload. Returns 1 when added, 0 when the item was there already.
_INBOX_ADD: Final = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
"""


# KEYS[1] = breaker hash; ARGV = n, the n field/value pairs the caller read,
# then 'set' and the pairs to write, 'del', or 'keep'. Writes only if the hash
# still holds exactly what was read: returns {1}, else {0, pairs now held}.
_BREAKER_CAS: Final = """
local h = redis.call('HGETALL', KEYS[1])
local n = tonumber(ARGV[1])
local same = #h == 2 * n
if same then
  local held = {}
  for j = 1, #h, 2 do held[h[j]] = h[j + 1] end
  for j = 2, 2 * n, 2 do
    if held[ARGV[j]] ~= ARGV[j + 1] then same = false break end
  end
end
if not same then
  table.insert(h, 1, 0)
  return h
end
local action = ARGV[2 * n + 2]
if action == 'set' then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2 * n + 3))
elseif action == 'del' then
  redis.call('DEL', KEYS[1])
end
return {1}
"""


class RedisStore(
    SharedBreaker, StateStore, SharedLimiterStore, GatedLimiterStore, BotStore
):
    """Share an instance's breaker, limiter and answer cache through Redis.

    Example::

        store = RedisStore("redis://127.0.0.1:6379/0")  # we own the client
        store = RedisStore("redis+cluster://10.0.0.1:7000")  # a Redis Cluster
        store = RedisStore(my_redis_client)  # yours (redis.asyncio); never closed

    `my_redis_client` may be a `redis.asyncio.Redis` or `RedisCluster`. A
    `prefix` may not contain `{` or `}`: the instance id in braces is each
    key's hash tag, which keeps an instance's keys in one cluster slot.

    Every operation fails closed with `StoreUnavailableError` after `timeout`
    seconds (default 0.25) or on any Redis error, so an unreachable store
    never turns into unlimited sending. With `fail_open=True` it carries on
    locally instead: the limiter at `fallback_fraction` of the rate in this
    process, the last pause it saw still honoured, and new pauses written
    back once Redis answers again. The bot inbox (a hash and a list) is as
    durable as the Redis server's persistence settings make it.
    """

    durable = True

    def __init__(
        self,
        client_or_url: Client | str,
        *,
        prefix: str = "green_tg:",
        timeout: float = 0.25,
        fail_open: bool = False,
        fallback_fraction: float = 0.5,
        fallback_probe_interval: float = 5.0,
    ) -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError(
                f"prefix must not contain '{{' or '}}' (got {prefix!r}): "
                "the instance id in braces is the keys' Redis Cluster hash tag"
            )
        self._redis: Client
        if isinstance(client_or_url, str):
            self._redis = _client(client_or_url)
            self._owns = True
        else:
            self._redis = client_or_url
            self._owns = False
        # A cluster client learns the slot map before its first command goes
        # out (see `_warm_up`).
        self._cold = isinstance(self._redis, aioredis.RedisCluster)
        self._warming = asyncio.Lock()
        self._prefix = prefix
        self._timeout = timeout
        self._fallback = (
            LocalFallback(fallback_fraction, probe_interval=fallback_probe_interval)
            if fail_open
            else None
        )
        self._admit = self._redis.register_script(_ADMIT)
        self._penalize = self._redis.register_script(_PENALIZE)
        self._enter = self._redis.register_script(_ENTER)
        self._admit_gated = self._redis.register_script(_ADMIT_GATED)
        self._inbox_add = self._redis.register_script(_INBOX_ADD)
        self._breaker_cas = self._redis.register_script(_BREAKER_CAS)

    @fails_open
    async def breaker_get(self, key: str) -> BreakerRecord | None:
        """Return the record for `key`, or None when closed."""
        raw = await self._guard(self._redis.hgetall(self._k(key)))
        return _decode(raw)

    @fails_open
    async def breaker_reset(self, key: str) -> None:
        """Forget everything about `key`."""
        await self._guard(self._redis.delete(self._k(key)))

    @fails_open
    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        """Book the next GCRA slot (and log the send if it is now): one round trip."""
        step = round(interval * 1e6)
        keys, args = [self._k(key)], [step, (burst - 1) * step]
        if log is not None:
            keys.append(self._k(log.key))
            args += [log.limit, round(log.window * 1e6)]
        wait_us = await self._guard(self._admit(keys=keys, args=args))
        return int(wait_us) / 1e6

    @fails_open
    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog | None,
        gate: Gate,
    ) -> GatedAdmission:
        """Breaker read, slot booking and send log: one round trip (one script)."""
        if log is None:
            return await admit_gated_stepwise(
                self, key, interval=interval, burst=burst, log=log, gate=gate
            )
        step = round(interval * 1e6)
        keys = [self._k(key), self._k(log.key), *map(self._k, gate.keys)]
        args: list[int | str] = [
            step,
            (burst - 1) * step,
            log.limit,
            round(log.window * 1e6),
            repr(gate.now),
            repr(gate.lease_until),
        ]
        raw = await self._guard(self._admit_gated(keys=keys, args=args))
        records = tuple(
            _record(raw[3 + 5 * i : 8 + 5 * i]) for i in range(len(gate.keys))
        )
        return GatedAdmission(int(raw[0]) / 1e6, records, int(raw[1]), bool(raw[2]))

    @fails_open
    async def limiter_enter(self, key: str, *, limit: int, window: float) -> float:
        """Record a send unless the one-second log is full; else return the wait."""
        args = [limit, round(window * 1e6)]
        wait_us = await self._guard(self._enter(keys=[self._k(key)], args=args))
        return int(wait_us) / 1e6

    @fails_open
    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        """Push the next slot of `key` at least `seconds` past now, for everyone."""
        args = [round(seconds * 1e6)]
        await self._guard(self._penalize(keys=[self._k(key)], args=args))

    @fails_open
    async def cache_get(self, key: str) -> str | None:
        """Return a cached answer unless it expired."""
        raw = await self._guard(self._redis.get(self._k(key)))
        return None if raw is None else _text(raw)

    @fails_open
    async def cache_set(self, key: str, value: str, *, ttl: float) -> None:
        """Cache `value` for `ttl` seconds."""
        px = max(1, round(ttl * 1000))
        await self._guard(self._redis.set(self._k(key), value, px=px))

    async def cache_delete(self, key: str) -> None:
        """Forget `key`."""
        await self._guard(self._redis.delete(self._k(key)))

    async def inbox_add(self, queue: str, item: str, payload: str) -> bool:
        """Append `item` unless `queue` holds it already: one round trip."""
        keys = list(self._inbox_keys(queue))
        added = await self._guard(self._inbox_add(keys=keys, args=[item, payload]))
        return bool(added)

    async def inbox_items(self, queue: str) -> list[tuple[str, str]]:
        """Every item of `queue`, oldest first."""
        items_key, order_key = self._inbox_keys(queue)
        order = await self._guard(self._redis.lrange(order_key, 0, -1))
        if not order:
            return []
        payloads = await self._guard(self._redis.hmget(items_key, order))
        return [
            (_text(item), _text(payload))
            for item, payload in zip(order, payloads, strict=True)
            if payload is not None
        ]

    async def inbox_remove(self, queue: str, item: str) -> None:
        """Drop `item` from `queue`."""
        items_key, order_key = self._inbox_keys(queue)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(items_key, item)
            pipe.lrem(order_key, 0, item)
            await self._guard(pipe.execute())

    def _inbox_keys(self, queue: str) -> tuple[str, str]:
        # Both keys carry the queue's hash tag, so the script suits a Cluster.
        base = self._k(queue)
        return base + ":items", base + ":order"

    async def aclose(self) -> None:
        """Close the client if this store created it."""
        if self._owns:
            await self._redis.aclose()

    def __repr__(self) -> str:
        owner = "own" if self._owns else "injected"
        return f"<RedisStore prefix={self._prefix!r} client={owner}>"

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def _guard(self, op: Awaitable[T]) -> T:
        """Await a redis-py call; any way it fails becomes `StoreUnavailableError`.

        redis-py raises more than `RedisError`: `RedisClusterException` and
        its subclasses, `RuntimeError` (a lock bound to another event loop)
        and `AttributeError` (a connection closed under a concurrent user)
        among them. All mean "the store did not do it", so all fail closed, or
        open where the store is configured to.
        """
        try:
            async with asyncio.timeout(self._timeout):
                if self._cold:
                    await self._warm_up()
                return await op
        except TimeoutError:
            raise StoreUnavailableError(
                f"Redis store did not answer within {self._timeout} s"
            ) from None
        except Exception as exc:
            raise StoreUnavailableError(
                f"Redis store failed: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            if inspect.iscoroutine(op):
                op.close()  # never started (warm-up failed): no "never awaited"

    async def _warm_up(self) -> None:
        """Load the cluster's slot map once, before any command is in flight.

        redis-py 8.0.0-8.1.0 let a fresh `RedisCluster` used by concurrent
        callers disconnect a connection another caller is opening
        (`AttributeError: 'NoneType' object has no attribute 'writelines'`).
        With the map loaded first, the connections open without that race.
        """
        async with self._warming:
            if self._cold:
                assert isinstance(self._redis, aioredis.RedisCluster)
                await self._redis.initialize()
                self._cold = False

    async def _update(
        self, key: str, change: Change, *, keep: bool = False
    ) -> BreakerRecord | None:
        """Apply `change` atomically; with `keep`, a None result writes nothing."""
        return await self._guard(self._transact(self._k(key), change, keep))

    async def _transact(
        self, key: str, change: Change, keep: bool
    ) -> BreakerRecord | None:
        # First guess: no record (the usual case, so most changes take one
        # round trip). On a mismatch the script returns what it holds: retry.
        held: Sequence[Any] = []
        while True:
            record = change(_decode(dict(zip(held[::2], held[1::2], strict=True))))
            action: list[str | int] = ["keep" if keep else "del"]
            if record is not None:
                action = ["set", *_fields(record)]
            args = [len(held) // 2, *held, *action]
            reply = await self._breaker_cas(keys=[key], args=args)
            if int(reply[0]) == 1:
                return record
            held = reply[1:]


def _client(url: str) -> Client:
    """A standalone or cluster client for `url`; ValueError if it is not one."""
    scheme = urlsplit(url).scheme
    if scheme not in _CLUSTER_SCHEMES:
        return aioredis.Redis.from_url(url)
    try:
        # Unbounded per node, like a single server's pool: redis-py's cluster
        # default (100) fails the 101st concurrent call to a node at once, and
        # an instance's keys all live on one node. `?max_connections=` caps it.
        return aioredis.RedisCluster.from_url(
            _CLUSTER_SCHEMES[scheme] + url[len(scheme) :], max_connections=2**31
        )
    except RedisClusterException as exc:  # e.g. a database other than 0
        raise ValueError(f"bad Redis Cluster URL: {exc}") from None


def _fields(record: BreakerRecord) -> list[str | int]:
    return [
        "open_until",
        repr(record.open_until),
        "reason",
        record.reason,
        "failures",
        record.failures,
        "probe_until",
        repr(record.probe_until),
    ]


def _decode(raw: Mapping[Any, Any]) -> BreakerRecord | None:
    if not raw:
        return None
    data = {_text(k): _text(v) for k, v in raw.items()}
    return BreakerRecord(
        open_until=float(data.get("open_until", 0.0)),
        reason=data.get("reason", ""),
        failures=int(data.get("failures", 0)),
        probe_until=float(data.get("probe_until", 0.0)),
    )


def _record(fields: list[Any]) -> BreakerRecord | None:
    """A breaker record from the gated script's five fields (None if absent)."""
    exists, open_until, reason, failures, probe_until = map(_text, fields)
    if exists != "1":
        return None
    return BreakerRecord(float(open_until), reason, int(failures), float(probe_until))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
