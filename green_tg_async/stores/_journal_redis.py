"""The send journal in Redis: `RedisStore`'s part, one Lua script per call.

A key's record is a hash (fp, intent, started, owner, lease_until, result)
and each claimed message a string naming its key; both carry the instance's
hash tag (the library builds the keys), so the scripts suit a Redis Cluster.
Times are Redis' own clock (`TIME`), in seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Final, TypeVar

from ._journal import JournalEntry, SendJournal

__all__ = ["RedisJournal"]

T = TypeVar("T")

_NOW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS[1] = record; ARGV = fingerprint, intent, owner, lease_ms, ttl_ms.
# Returns {verdict, fingerprint, intent, started, result or nil}: the rule
# of `_journal.begin_step`.
_BEGIN: Final = (
    _NOW
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
_FINISH: Final = (
    _NOW
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
_RELEASE: Final = """
local h = redis.call('HMGET', KEYS[1], 'owner', 'result')
if not h[1] or h[1] ~= ARGV[1] or h[2] then return 0 end
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'owner', '', 'lease_until', '0')
end
return 0
"""


class RedisJournal(SendJournal):
    """Journal methods over the store's client, `_k` and `_guard`."""

    _redis: Any
    _journal_scripts: dict[str, Any] | None = None

    def _k(self, key: str) -> str:
        raise NotImplementedError

    async def _guard(self, op: Awaitable[T]) -> T:
        raise NotImplementedError

    def _script(self, name: str) -> Any:
        if self._journal_scripts is None:
            self._journal_scripts = {
                "begin": self._redis.register_script(_BEGIN),
                "finish": self._redis.register_script(_FINISH),
                "release": self._redis.register_script(_RELEASE),
            }
        return self._journal_scripts[name]

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
        """Write a new intent, or report the record under `key`: one script."""
        args = [fingerprint, intent, owner, _ms(lease), _ms(ttl)]
        raw = await self._guard(self._script("begin")(keys=[self._k(key)], args=args))
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
        """Claim `message` for `key` and record `result`: one script."""
        keys = [self._k(key), self._k(message)]
        args = [fingerprint, intent, result, _ms(ttl)]
        raw = await self._guard(self._script("finish")(keys=keys, args=args))
        return None if raw is None else _text(raw)

    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        """Give up `owner`'s lease; `forget` drops the intent: one script."""
        args = [owner, "1" if forget else "0"]
        await self._guard(self._script("release")(keys=[self._k(key)], args=args))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
