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
from dataclasses import fields
from typing import Any, Final, TypeAlias, TypeVar
from urllib.parse import urlsplit

from green_tg_async._exceptions import StoreUnavailableError

from ._base import (
    SLOT_POLL,
    BotStore,
    BreakerRecord,
    Claim,
    Gate,
    GatedAdmission,
    LookupEntry,
    PaceRecord,
    Resumed,
    SendLog,
    SharedLimiterStore,
    StateStore,
)
from ._journal import JournalEntry
from ._shared import Change, SharedBreaker
from ._transitions import GATE_VERDICT_LUA, micros

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
local function log_wait(key, limit, window)
  local oldest = redis.call('LINDEX', key, limit - 1)
  if oldest then
    local wait = tonumber(oldest) + window - now
    if wait > 0 then return wait end
  end
  return 0
end
local function log_add(key, limit, window)
  redis.call('LPUSH', key, string.format('%.0f', now))
  redis.call('LTRIM', key, 0, limit - 1)
  redis.call('PEXPIRE', key, math.floor(window / 1000) + 1000)
end
-- Held sends (a sorted set of tickets by start) count as now until settled
-- into the sent log (a sorted set of tickets by when their answer came);
-- one not settled within 30 s stops counting. ARGV[from..] = ticket, age_us.
local function settle(sent, pend, window, from)
  for i = from, #ARGV, 2 do
    redis.call('ZREM', pend, ARGV[i])
    local at = string.format('%.0f', now - tonumber(ARGV[i + 1]))
    redis.call('ZADD', sent, at, ARGV[i])
  end
  redis.call('PEXPIRE', sent, math.floor(window / 1000) + 1000)
end
local function enter_held(sent, pend, limit, window, ticket)
  redis.call('ZREMRANGEBYSCORE', pend, '-inf', now - 30000000)
  redis.call('ZREMRANGEBYSCORE', sent, '-inf', now - window)
  local free = limit - redis.call('ZCARD', pend)
  if free <= 0 then return 10000 end
  local newest = redis.call('ZREVRANGE', sent, free - 1, free - 1, 'WITHSCORES')
  if #newest > 0 then
    local wait = tonumber(newest[2]) + window - now
    if wait > 0 then return wait end
  end
  redis.call('ZADD', pend, string.format('%.0f', now), ticket)
  redis.call('PEXPIRE', pend, 31000)
  return 0
end
"""

# KEYS = the limiter key, then a send log's sent and held sets (or either
# alone); ARGV = step_us, tolerance_us, then the log's limit ('': only settle)
# and window_us, the ticket, and sends to settle. Settles them, books a slot,
# then holds the send. Returns the wait in µs; 0 with a log means it is held.
_ADMIT: Final = (
    _LUA_PRELUDE
    + """
local log = #KEYS > 1 and #KEYS - 1
if log then settle(KEYS[log], KEYS[log + 1], tonumber(ARGV[4]), 6) end
if #KEYS ~= 2 then
  local wait = book(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
  if wait > 0 or not log then return wait end
end
if ARGV[3] == '' then return 0 end
return enter_held(KEYS[log], KEYS[log + 1], tonumber(ARGV[3]), tonumber(ARGV[4]),
                  ARGV[5])
"""
)

# KEYS[1] = limiter key; ARGV = seconds_us. Moves the arrival time forward only.
_PENALIZE: Final = (
    _LUA_PRELUDE
    + """
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', until_),
             'PX', math.floor(tonumber(ARGV[1]) / 1000) + 60000)
end
return 0
"""
)

# A look-up's slot, budget and pace read (the rule of
# `_transitions.lookup_step`). KEYS[k] = in-flight slots (sorted set: ticket
# by lease end, µs), KEYS[k + 1] = pace hash, then one send log per budget
# window; ARGV[a..] = ticket, cap, lease_us, n windows, per window its limit
# and window_us, n tickets to free first, those tickets. Returns wait_us (-1:
# every slot held), pace factor, pace since; with wait 0 the slot is taken
# and the look-up logged.
_LOOKUP_LUA: Final = """
local function lookup_take(k, a)
  local n = tonumber(ARGV[a + 3])
  local r = a + 4 + 2 * n
  for i = r + 1, r + tonumber(ARGV[r]) do redis.call('ZREM', KEYS[k], ARGV[i]) end
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', now)
  local pace = redis.call('HMGET', KEYS[k + 1], 'factor', 'since')
  local f, s = pace[1] or '', pace[2] or ''
  if redis.call('ZCARD', KEYS[k]) >= tonumber(ARGV[a + 1]) then return -1, f, s end
  local wait = 0
  for i = 1, n do
    local w = log_wait(KEYS[k + 1 + i], tonumber(ARGV[a + 2 + 2 * i]),
                       tonumber(ARGV[a + 3 + 2 * i]))
    if w > wait then wait = w end
  end
  if wait > 0 then return wait, f, s end
  for i = 1, n do
    log_add(KEYS[k + 1 + i], tonumber(ARGV[a + 2 + 2 * i]),
            tonumber(ARGV[a + 3 + 2 * i]))
  end
  local lease = tonumber(ARGV[a + 2])
  redis.call('ZADD', KEYS[k], string.format('%.0f', now + lease), ARGV[a])
  redis.call('PEXPIRE', KEYS[k], math.floor(lease / 1000) + 1000)
  return 0, f, s
end
"""

_LOOKUP_ENTER: Final = (
    _LUA_PRELUDE
    + _LOOKUP_LUA
    + """
local wait, f, s = lookup_take(1, 1)
return {wait, f, s}
"""
)

# KEYS = limiter key, the send log's sent and held sets, the breaker hashes,
# then (a look-up) its keys for `lookup_take`; ARGV = step_us, tolerance_us,
# log limit, log window_us, breaker now, lease_until, the ticket, the number
# of breaker keys, the number of look-up arguments, those arguments, then
# sends to settle. Reads the breaker first and books nothing when it refuses
# (`gate_verdict`, whose Lua copy this embeds), nor when the look-up's slot
# or budget is not free. Returns {wait_us, refused index or -1, lease taken
# 0/1, look-up wait_us, pace factor, pace since, then per breaker key:
# exists, open_until, reason, failures, probe_until}.
_ADMIT_GATED: Final = (
    _LUA_PRELUDE
    + GATE_VERDICT_LUA
    + _LOOKUP_LUA
    + """
local bnow = tonumber(ARGV[5])
local breakers, looks = tonumber(ARGV[8]), tonumber(ARGV[9])
local out = {0, -1, 0, 0, '', ''}
settle(KEYS[2], KEYS[3], tonumber(ARGV[4]), 10 + looks)
local records = {}
for i = 4, 3 + breakers do
  local h = redis.call('HMGET', KEYS[i], 'open_until', 'reason', 'failures',
                       'probe_until')
  local exists = redis.call('EXISTS', KEYS[i]) == 1
  table.insert(out, exists and '1' or '0')
  for j, absent in ipairs({'0', '', '0', '0'}) do table.insert(out, h[j] or absent) end
  table.insert(records, {exists, tonumber(h[1] or '0'), tonumber(h[4] or '0')})
end
local refused, probe = gate_verdict(records, bnow)
if refused >= 0 then
  out[2] = refused
  return out
end
if looks > 0 then
  out[4], out[5], out[6] = lookup_take(4 + breakers, 10)
  if out[4] ~= 0 then return out end
end
local wait = book(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait <= 0 then
  wait = enter_held(KEYS[2], KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[7])
end
out[1] = wait
if wait <= 0 and probe then
  for i, r in ipairs(records) do
    if r[1] and r[2] > 0 then
      redis.call('HSET', KEYS[i + 3], 'probe_until', ARGV[6])
    end
  end
  out[3] = 1
end
return out
"""
)

# KEYS[1] = pace hash (factor, since); ARGV = now, resume_at, decrease, floor,
# climb per hour. The rule of `_transitions.pace_cut`; returns {factor, since}.
_PACE_CUT: Final = """
local f = redis.call('HGET', KEYS[1], 'factor')
local since = tonumber(redis.call('HGET', KEYS[1], 'since') or '0')
local now = tonumber(ARGV[1])
local pace = 1
if f then
  pace = math.min(1, tonumber(f) + tonumber(ARGV[5]) * math.max(0, now - since) / 3600)
end
local factor = math.max(tonumber(ARGV[4]), pace * tonumber(ARGV[3]))
local resume = math.max(tonumber(ARGV[2]), since)
local out = {string.format('%.17g', factor), string.format('%.17g', resume)}
redis.call('HSET', KEYS[1], 'factor', out[1], 'since', out[2])
return out
"""

# The inbox of a queue Q is three keys with Q's hash tag: Q:items (hash item ->
# payload), Q:order (list of items, oldest first) and Q:claims (hash item ->
# "<until, Redis ms>:<owner>"). Every change to them is one script.
_INBOX_PRELUDE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function holder(claims, item)
  local c = redis.call('HGET', claims, item)
  if not c then return nil, 0 end
  local sep = string.find(c, ':', 1, true)
  return string.sub(c, sep + 1), tonumber(string.sub(c, 1, sep - 1))
end
local function claim(claims, item, owner, lease)
  redis.call('HSET', claims, item, string.format('%.0f', now + lease) .. ':' .. owner)
end
"""

# KEYS = items, order, claims, then (to take) the done marker; ARGV = item,
# payload, then owner and lease_ms. Without a done marker, adds the item:
# returns 1 when added, 0 when it was there already; else returns 'done',
# 'held' or 'claimed' (see `BotStore.inbox_take`).
_INBOX_TAKE: Final = (
    _INBOX_PRELUDE
    + """
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then return 'done' end
local added = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if added == 1 then redis.call('RPUSH', KEYS[2], ARGV[1]) end
if not KEYS[4] then return added end
local owner, until_ = holder(KEYS[3], ARGV[1])
if owner and owner ~= ARGV[3] and until_ > now then return 'held' end
claim(KEYS[3], ARGV[1], ARGV[3], tonumber(ARGV[4]))
return 'claimed'
"""
)

# KEYS = items, order, claims; ARGV = owner, lease_ms ('': release), then
# items. Renews (or drops) the owner's claims of them; returns those it held.
_INBOX_RENEW: Final = (
    _INBOX_PRELUDE
    + """
local held = {}
for i = 3, #ARGV do
  if holder(KEYS[3], ARGV[i]) == ARGV[1] then
    if ARGV[2] == '' then redis.call('HDEL', KEYS[3], ARGV[i])
    else claim(KEYS[3], ARGV[i], ARGV[1], tonumber(ARGV[2])) end
    table.insert(held, ARGV[i])
  end
end
return held
"""
)

# KEYS = items, order, claims, then (to finish) the done marker; ARGV = item,
# then its ttl_ms. Drops the item and its claim.
_INBOX_REMOVE: Final = """
if KEYS[4] then redis.call('SET', KEYS[4], '1', 'PX', ARGV[2]) end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 0
"""

# KEYS = items, order, claims; ARGV = owner, lease_ms, limit. Returns the ms
# until the earliest live claim of another owner runs out (-1: none), then
# item, payload, item, payload, … of the items it claimed, oldest first.
_INBOX_RESUME: Final = (
    _INBOX_PRELUDE
    + """
local out = {-1}
local limit = 2 * tonumber(ARGV[3]) + 1
local next_ = nil
for _, item in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local payload = redis.call('HGET', KEYS[1], item)
  local owner, until_ = holder(KEYS[3], item)
  if payload and #out < limit and (not owner or until_ <= now) then
    claim(KEYS[3], item, ARGV[1], tonumber(ARGV[2]))
    table.insert(out, item)
    table.insert(out, payload)
  elseif owner and owner ~= ARGV[1] and until_ > now then
    if not next_ or until_ < next_ then next_ = until_ end
  end
end
if next_ then out[1] = next_ - now end
return out
"""
)

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

# The send journal (see `_journal`): a key's record is a hash (fp, intent,
# started, owner, lease_until, result) and each claimed message a string naming
# its key, both with the instance's hash tag. Times are Redis' `TIME`, in s.
_JOURNAL_NOW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS[1] = record; ARGV = fingerprint, intent, owner, lease_ms, ttl_ms.
# Returns {verdict, fingerprint, intent, started, result or nil}: the rule
# of `_journal.begin_step`.
_JOURNAL_BEGIN: Final = (
    _JOURNAL_NOW
    + """
local h = redis.call('HMGET', KEYS[1], 'fp', 'intent', 'started', 'owner',
                     'lease_until', 'result')
local lease_until = string.format('%.6f', now + tonumber(ARGV[4]) / 1000)
if not h[1] then
  local started = string.format('%.6f', now)
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'intent', ARGV[2], 'started', started,
             'owner', ARGV[3], 'lease_until', lease_until)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {'send', ARGV[1], ARGV[2], started, false}
end
local out = {'settle', h[1], h[2], h[3], h[6]}
if h[1] ~= ARGV[1] then
  out[1] = 'conflict'
elseif h[6] then
  out[1] = 'done'
elseif tonumber(h[5]) > now and h[4] ~= ARGV[3] then
  out[1] = 'wait'
else
  redis.call('HSET', KEYS[1], 'owner', ARGV[3], 'lease_until', lease_until)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return out
"""
)

# KEYS[1] = record, KEYS[2] = the message's claim; ARGV = fingerprint,
# intent, result, ttl_ms. Returns the result that stands, or nil when the
# message settled another key (nothing changed).
_JOURNAL_FINISH: Final = (
    _JOURNAL_NOW
    + """
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= KEYS[1] then return false end
redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[4])
local result = redis.call('HGET', KEYS[1], 'result')
if not result then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'intent', ARGV[2],
               'started', string.format('%.6f', now))
  end
  redis.call('HSET', KEYS[1], 'owner', '', 'lease_until', '0', 'result', ARGV[3])
  result = ARGV[3]
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return result
"""
)

# KEYS[1] = record; ARGV = owner, forget (1/0).
_JOURNAL_RELEASE: Final = """
local h = redis.call('HMGET', KEYS[1], 'owner', 'result')
if not h[1] or h[1] ~= ARGV[1] or h[2] then return 0 end
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'owner', '', 'lease_until', '0')
end
return 0
"""


_SCRIPTS: Final = {
    "admit": _ADMIT,
    "penalize": _PENALIZE,
    "admit_gated": _ADMIT_GATED,
    "lookup_enter": _LOOKUP_ENTER,
    "pace_cut": _PACE_CUT,
    "inbox_take": _INBOX_TAKE,
    "inbox_renew": _INBOX_RENEW,
    "inbox_remove": _INBOX_REMOVE,
    "inbox_resume": _INBOX_RESUME,
    "breaker_cas": _BREAKER_CAS,
    "journal_begin": _JOURNAL_BEGIN,
    "journal_finish": _JOURNAL_FINISH,
    "journal_release": _JOURNAL_RELEASE,
}


class RedisStore(SharedBreaker, StateStore, SharedLimiterStore, BotStore):
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
    never turns into unlimited sending; wrap it in `FailOpenStore` (or pass
    `fail_open=True`, the short spelling) to keep limiting locally instead.
    The bot inbox (two hashes and a list) is as durable as the Redis server's
    persistence settings make it.
    """

    durable = True

    def __init__(
        self,
        client_or_url: Client | str,
        *,
        prefix: str = "green_tg:",
        timeout: float = 0.25,
        fail_open: bool = False,
    ) -> None:
        self.fail_open = fail_open
        """Given to a client, this store is wrapped in one `FailOpenStore`."""
        if "{" in prefix or "}" in prefix:
            raise ValueError(
                f"prefix must not contain '{{' or '}}' (got {prefix!r}): "
                "the instance id in braces is the keys' Redis Cluster hash tag"
            )
        self._redis: Client
        if isinstance(client_or_url, str):
            self._redis = _client(client_or_url, timeout=timeout)
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
        self._scripts = {
            name: self._redis.register_script(lua) for name, lua in _SCRIPTS.items()
        }

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        return _decode(await self._guard(self._redis.hgetall(self._k(key))))

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        step = micros(interval)
        keys = [self._k(key)]
        args: list[int | str] = [step, (burst - 1) * step]
        if log is not None:
            keys += self._held_keys(log.key)
            args += [log.limit, micros(log.window), log.ticket, *_settles(log)]
        return int(await self._eval("admit", keys, args)) / 1e6

    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog,
        gate: Gate,
    ) -> GatedAdmission:
        step = micros(interval)
        look_keys, look_args = (
            ([], []) if gate.lookup is None else (self._lookup_args(gate.lookup))
        )
        keys = [self._k(key), *self._held_keys(log.key), *map(self._k, gate.keys)]
        args: list[int | str] = [step, (burst - 1) * step]
        args += [log.limit, micros(log.window), repr(gate.now), repr(gate.lease_until)]
        args += [log.ticket, len(gate.keys), len(look_args), *look_args, *_settles(log)]
        raw = await self._eval("admit_gated", keys + look_keys, args)
        records = tuple(
            _record(raw[6 + 5 * i : 11 + 5 * i]) for i in range(len(gate.keys))
        )
        found = GatedAdmission(int(raw[0]) / 1e6, records, int(raw[1]), bool(raw[2]))
        if gate.lookup is None:
            return found
        wait = _lookup_wait(raw[3])
        return found._replace(lookup_wait=wait, pace=_pace(raw[4], raw[5]))

    async def limiter_enter_pending(self, log: SendLog) -> float:
        return await self._log(log, log.limit)

    async def limiter_done(self, log: SendLog) -> None:
        await self._log(log, "")

    async def _log(self, log: SendLog, limit: int | str) -> float:
        """The admit script on the send log alone: settle, then hold unless ''."""
        args = [0, 0, limit, micros(log.window), log.ticket, *_settles(log)]
        return int(await self._eval("admit", self._held_keys(log.key), args)) / 1e6

    def _held_keys(self, log_key: str) -> list[str]:
        # Sorted sets beside the plain log (same hash tag: legal on a Cluster).
        return [self._k(log_key + ":sent"), self._k(log_key + ":held")]

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        await self._eval("penalize", [self._k(key)], [micros(seconds)])

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        raw = await self._eval("lookup_enter", *self._lookup_args(entry))
        return _lookup_wait(raw[0]), _pace(raw[1], raw[2])

    def _lookup_args(self, entry: LookupEntry) -> tuple[list[str], list[int | str]]:
        """`lookup_take`'s keys and arguments for `entry`."""
        windows = [(limit, micros(seconds)) for limit, seconds in entry.windows]
        keys = [self._k(entry.slots), self._k(entry.pace)]
        keys += [self._k(f"{entry.budget}:{span}") for _, span in windows]
        args: list[int | str] = [entry.ticket, entry.cap, micros(entry.lease)]
        args += [len(windows), *[n for window in windows for n in window]]
        return keys, [*args, len(entry.release), *entry.release]

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        await self._guard(self._redis.zrem(self._k(slots), *tickets))

    async def pace_get(self, key: str) -> PaceRecord | None:
        raw = await self._guard(self._redis.hmget(self._k(key), ["factor", "since"]))
        return _pace(raw[0] or b"", raw[1] or b"0")

    async def pace_cut(
        self,
        key: str,
        *,
        now: float,
        resume_at: float,
        decrease: float,
        floor: float,
        climb: float,
    ) -> PaceRecord:
        args = [repr(v) for v in (now, resume_at, decrease, floor, climb)]
        raw = await self._eval("pace_cut", [self._k(key)], args)
        return PaceRecord(float(_text(raw[0])), float(_text(raw[1])))

    async def cache_get(self, key: str) -> str | None:
        raw = await self._guard(self._redis.get(self._k(key)))
        return None if raw is None else _text(raw)

    async def cache_set(self, key: str, value: str, *, ttl: float) -> None:
        await self._guard(self._redis.set(self._k(key), value, px=_ms(ttl)))

    async def cache_delete(self, key: str) -> None:
        await self._guard(self._redis.delete(self._k(key)))

    breaker_reset = pace_reset = cache_delete  # each forgets the key

    async def inbox_add(self, queue: str, item: str, payload: str) -> bool:
        keys = self._inbox_keys(queue)
        return bool(await self._eval("inbox_take", keys, [item, payload]))

    async def inbox_items(self, queue: str) -> list[tuple[str, str]]:
        items_key, order_key, _ = self._inbox_keys(queue)
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
        await self._eval("inbox_remove", self._inbox_keys(queue), [item])

    async def inbox_take(
        self,
        queue: str,
        item: str,
        payload: str,
        *,
        done: str,
        owner: str,
        lease: float,
    ) -> Claim:
        keys = [*self._inbox_keys(queue), self._k(done)]
        args: list[str | int] = [item, payload, owner, round(lease * 1000)]
        return _CLAIMS[_text(await self._eval("inbox_take", keys, args))]

    async def inbox_renew(
        self, queue: str, items: list[str], *, owner: str, lease: float
    ) -> list[str]:
        if not items:
            return []
        args = [owner, round(lease * 1000), *items]
        held = await self._eval("inbox_renew", self._inbox_keys(queue), args)
        return [_text(item) for item in held]

    async def inbox_release(self, queue: str, item: str, *, owner: str) -> None:
        await self._eval("inbox_renew", self._inbox_keys(queue), [owner, "", item])

    async def inbox_finish(
        self, queue: str, item: str, *, done: str, ttl: float
    ) -> None:
        keys = [*self._inbox_keys(queue), self._k(done)]
        await self._eval("inbox_remove", keys, [item, _ms(ttl)])

    async def inbox_resume(
        self, queue: str, *, owner: str, lease: float, limit: int
    ) -> Resumed:
        args = [owner, round(lease * 1000), limit]
        next_ms, *flat = await self._eval("inbox_resume", self._inbox_keys(queue), args)
        texts = [_text(value) for value in flat]
        items = list(zip(texts[::2], texts[1::2], strict=True))
        return Resumed(items, None if int(next_ms) < 0 else int(next_ms) / 1000)

    def _inbox_keys(self, queue: str) -> list[str]:
        # Every inbox key carries the queue's hash tag, so scripts suit a Cluster.
        base = self._k(queue)
        return [base + ":items", base + ":order", base + ":claims"]

    async def journal_begin(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        owner: str,
        lease: float,
        ttl: float,
    ) -> JournalEntry:
        args = [fingerprint, intent, owner, _ms(lease), _ms(ttl)]
        raw = await self._eval("journal_begin", [self._k(key)], args)
        verdict, fp, stored, started = (_text(v) for v in raw[:4])
        result = _text(raw[4]) if len(raw) > 4 and raw[4] is not None else None
        return JournalEntry(verdict, fp, stored, float(started), result)  # type: ignore[arg-type]

    async def journal_finish(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        message: str,
        result: str,
        ttl: float,
    ) -> str | None:
        args = [fingerprint, intent, result, _ms(ttl)]
        raw = await self._eval("journal_finish", [self._k(key), self._k(message)], args)
        return None if raw is None else _text(raw)

    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        args = [owner, "1" if forget else "0"]
        await self._eval("journal_release", [self._k(key)], args)

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()

    def __repr__(self) -> str:
        owner = "own" if self._owns else "injected"
        return f"<RedisStore prefix={self._prefix!r} client={owner}>"

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def _eval(self, script: str, keys: list[str], args: Sequence[Any]) -> Any:
        """Run one of `_SCRIPTS`: one round trip."""
        return await self._guard(self._scripts[script](keys=keys, args=args))

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
        return await self._guard(self._transact(self._k(key), change, keep))

    async def _transact(
        self, key: str, change: Change, keep: bool
    ) -> BreakerRecord | None:
        # First guess: no record (the usual case, so most changes take one
        # round trip). On a mismatch the script returns what it holds: retry.
        held: Sequence[Any] = []
        while True:
            record = change(_decode(dict(zip(held[::2], held[1::2], strict=True))))
            action: list[str | float] = ["keep" if keep else "del"]
            if record is not None:
                action = ["set", *_fields(record)]
            args = [len(held) // 2, *held, *action]
            reply = await self._scripts["breaker_cas"](keys=[key], args=args)
            if int(reply[0]) == 1:
                return record
            held = reply[1:]


def _lookup_wait(raw: Any) -> float:
    """`lookup_take`'s wait in seconds (-1 µs: every slot is held)."""
    wait_us = int(raw)
    return SLOT_POLL if wait_us < 0 else wait_us / 1e6


def _pace(factor: Any, since: Any) -> PaceRecord | None:
    """A pace record from `lookup_take`'s answer; None when none is kept."""
    text = _text(factor)
    return PaceRecord(float(text), float(_text(since))) if text else None


def _settles(log: SendLog) -> list[int | str]:
    """`log.settle` as script arguments: ticket, age in µs, ..."""
    return [v for ticket, age in log.settle for v in (ticket, micros(age))]


def _client(url: str, *, timeout: float) -> Client:
    """A standalone or cluster client for `url`; ValueError if it is not one.

    A standalone client's pool waits up to `timeout` s for a free connection:
    redis-py's default pool refuses a command outright ("Too many
    connections") once `max_connections` (default 100, a bot needs about
    `concurrency` plus a few; `?max_connections=N` in the URL) are busy, so a
    burst of webhooks would turn into HTTP 500s a moment's wait would serve.
    """
    scheme = urlsplit(url).scheme
    if scheme not in _CLUSTER_SCHEMES:
        pool = aioredis.BlockingConnectionPool.from_url(
            url, timeout=timeout, max_connections=100
        )
        return aioredis.Redis.from_pool(pool)  # the client closes the pool
    try:
        # Unbounded per node, like a single server's pool: redis-py's cluster
        # default (100) fails the 101st concurrent call to a node at once, and
        # an instance's keys all live on one node. `?max_connections=` caps it.
        return aioredis.RedisCluster.from_url(
            _CLUSTER_SCHEMES[scheme] + url[len(scheme) :], max_connections=2**31
        )
    except RedisClusterException as exc:  # e.g. a database other than 0
        raise ValueError(f"bad Redis Cluster URL: {exc}") from None


def _fields(record: BreakerRecord) -> list[str | float]:
    # The hash's fields are the record's; redis-py writes a number as its repr.
    return [v for f in fields(record) for v in (f.name, getattr(record, f.name))]


def _decode(raw: Mapping[Any, Any]) -> BreakerRecord | None:
    """A breaker record from its hash, absent fields as the gated script reads them."""
    if not raw:
        return None
    data = {_text(k): v for k, v in raw.items()}
    names = ("open_until", "reason", "failures", "probe_until")
    return _record(["1", *map(data.get, names, ("0", "", "0", "0"))])


def _record(raw: list[Any]) -> BreakerRecord | None:
    """A breaker record from the gated script's five fields (None if absent)."""
    exists, open_until, reason, failures, probe_until = map(_text, raw)
    if exists != "1":
        return None
    return BreakerRecord(float(open_until), reason, int(failures), float(probe_until))


_CLAIMS: Final[Mapping[str, Claim]] = {c: c for c in ("claimed", "held", "done")}


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
