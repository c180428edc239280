"""A rate-limit budget shared by many processes and hosts through Redis (``qianfan-chat[redis]``).

:class:`RedisBudget` is the :class:`~qianfan_chat._throttle._Budget` of a
:class:`~qianfan_chat._throttle.Throttle` whose windows live in Redis: ``take`` and
``correct`` are one atomic Lua script each, so N workers, Ray actors or servers that use the
same Redis and the same credential and model never exceed the limits together. The script
reads Redis's own clock (``TIME``), so hosts whose clocks disagree still share one window.

Each process keeps its own FIFO queue (only its head asks Redis, once per check); the
processes compete through the script. Request windows are also paced, GCRA-style: admissions
keep to a schedule of one every ``span / limit``, a late one catching up by at most two slots
(a sliding window alone lets a full window go in one burst, and the server, queueing that
burst, counts its tail later than Redis admitted it). The long-run rate is the same. Each
window is also longer in Redis than nominal (2 %, and at least 40 ms: :data:`SLACK`), for
the delay between Redis admitting a call and the server counting it. In
``benchmarks/batch_shared.py`` (4 processes x 2 threads, 2 cores; ``python
benchmarks/batch_shared.py``, Dec 2026, two runs) a 40 QPS budget reached 96.3 % with no
call refused (41 counted calls arrived at least 1 s + 22 ms, and 1 s + 8 ms, apart), and
1,200 RPM 98.2 % with none refused. With the 2 % alone a 1 s window left 20 ms: the first
calls (the processes start together) took up to 27 ms longer to be counted than the calls
40 later, and 2 of 5 runs of its 40 QPS case had refusals (3 at 1.02 s; 1 at 6.8 s; the
benchmark itself then gave 98.3 %, none refused, but 1 s + 4 ms); a refusal pauses every
process, and 3 of them had taken QPS to 83 %. Those figures are without :data:`COLD`: the
first window after an idle one, and a call checked late, count 40 ms later still; with it,
a copy of that 40 QPS case that logs each call's admission and count (a scratch script)
gave 38.4/s (96 %), none refused, in 3 runs (one of them before LATE).

Each process passes the limits in force for it (its explicit ones, learned ones, scaled down
after refusals), and a pause after a refusal is written to Redis, so every process waits for
it.

Keys (all under one hash tag, so a Redis Cluster keeps them on one shard; each expires one
window after its last use): ``qianfan:rl:{<digest>}:second|minute|tokens|tsum|pause|seq``,
where the digest names the credential and the model, never the secret in clear (a request
window also keeps its schedule and its cold period: ``second:tat``, ``second:cold``).

A round trip (about 0.1 ms on loopback) is made under the throttle's short lock; from async
code it runs on the event loop, like any other short synchronous step.
"""

from __future__ import annotations

from typing import Any

from ._throttle import MINUTE, SECOND, _Budget

# Every window is longer in Redis than nominal, because the server counts a call when it
# arrives, a varying delay after Redis admitted it (the Redis round trip, the thread's turn on
# a CPU, the network, the server's own queue): call ``j`` is refused when the call ``limit``
# admissions before it took longer to be counted, by more than that extra length. Redis
# spaces those two at least ``nominal + extra`` apart. 2 % covers that for a minute (1.2 s),
# but of a second it is only 20 ms, and in ``benchmarks/batch_shared.py`` (4 processes x 2
# threads, 2 cores) the delays of calls 40 apart differed by up to 23 ms once running (the
# largest in each of 10 runs of its 40 QPS case: 13 to 23 ms, but for a stall, see COLD), so
# a window is at least SLACK longer. The cost is the rate, ``limit`` per ``nominal + extra``:
# 96 % of the limit for 1 s, 98 % for a minute.
MARGIN = 1.02
SLACK = 0.04

# Some calls reach the server later still, and Redis (or this process) can tell which: the
# first ones after the budget was idle for a window (processes that start together open
# connections and fetch tokens at once: the calls of the first 30 ms took 5 to 46 ms to be
# counted, 2 ms later on), and one checked more than LATE after the wait it was given (the
# host stalled: after an 82 ms stall of every process the calls that caught up took 16 to
# 48 ms, and one was refused a window later). Those count COLD later than they were
# admitted, so they expire later: a start costs 1.5 calls at 40 QPS; LATE flagged 2 calls
# in 574 (p99 of the lateness: 4 ms). A stall that begins after the admission is not seen.
COLD = 0.04
LATE = 0.01


def redis_span(span: float) -> float:
    """The length in Redis of a window of ``span`` seconds: 2 % longer, at least SLACK."""
    return max(span * MARGIN, span + SLACK)


INSTALL = "the Redis rate-limit budget needs redis-py: pip install 'qianfan-chat[redis]'"

# KEYS: second, minute, tokens, tsum, pause, seq. ARGV: qps limit (0: none), qps span,
# rpm limit (0: none), tpm limit (0: none), tokens, pause seconds, minute span, COLD, late
# (1: this process checks LATE after the wait it was given).
# Returns the seconds to wait as a string (Lua numbers would be truncated to integers).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local qps, qspan = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, tpm = tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, pause = tonumber(ARGV[5]), tonumber(ARGV[6])
local minute, cold, late = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local wait = 0
local paused = tonumber(redis.call('GET', KEYS[5]) or '0')
if pause > 0 and now + pause > paused then
  paused = now + pause
  redis.call('SET', KEYS[5], tostring(paused), 'PX', math.ceil(pause * 1000) + 1000)
end
if paused > now then wait = paused - now end
local function requests(key, limit, span)
  limit = math.max(1, math.floor(limit))
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local used = redis.call('ZCARD', key)
  local wait = 0
  if used + 1 > limit then
    local oldest = redis.call('ZRANGE', key, used - limit, used - limit, 'WITHSCORES')
    wait = tonumber(oldest[2]) + span - now
  end
  -- Paced (GCRA): admissions keep to a schedule of one every span / limit, a late one
  -- catching up by at most 2 slots, so N processes never burst and a late wake-up is not lost.
  local tat = tonumber(redis.call('GET', key .. ':tat') or '0')
  wait = math.max(wait, tat - now - 2 * span / limit)
  return wait
end
local function admit(key, limit, span, seq)
  limit = math.max(1, math.floor(limit))
  local px = math.ceil(span * 1000) + 2000
  local tat = tonumber(redis.call('GET', key .. ':tat') or '0')
  -- Idle for a window (the schedule that far behind, or gone): the calls of the next span
  -- count cold seconds later than admitted, as do late ones: they reach the server later.
  local until_ = tonumber(redis.call('GET', key .. ':cold') or '0')
  if now > tat + span then
    until_ = now + span
    redis.call('SET', key .. ':cold', tostring(until_), 'PX', px)
  end
  tat = math.max(tat, now) + span / limit
  redis.call('SET', key .. ':tat', tostring(tat), 'PX', px)
  local stamp = now
  if now < until_ or late > 0 then stamp = now + cold end
  redis.call('ZADD', key, stamp, seq)
  redis.call('PEXPIRE', key, px)
end
local function prune_tokens()
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - minute)
  if #old > 0 then
    local freed = 0
    for _, member in ipairs(old) do freed = freed + tonumber(string.match(member, ':(%d+)$')) end
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - minute)
    redis.call('DECRBY', KEYS[4], freed)
  end
  return tonumber(redis.call('GET', KEYS[4]) or '0')
end
if qps > 0 then wait = math.max(wait, requests(KEYS[1], qps, qspan)) end
if rpm > 0 then wait = math.max(wait, requests(KEYS[2], rpm, minute)) end
if tpm > 0 then
  local used = prune_tokens()
  local excess = math.min(used + tokens - tpm, used)
  if excess > 0 then
    local freed = 0
    local log = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
    for i = 1, #log, 2 do
      freed = freed + tonumber(string.match(log[i], ':(%d+)$'))
      if freed >= excess then
        wait = math.max(wait, tonumber(log[i + 1]) + minute - now)
        break
      end
    end
  end
end
if wait > 0 then return tostring(wait) end
local seq = redis.call('INCR', KEYS[6])
redis.call('PEXPIRE', KEYS[6], 62000)
if qps > 0 then admit(KEYS[1], qps, qspan, seq) end
if rpm > 0 then admit(KEYS[2], rpm, minute, seq) end
if tpm > 0 and tokens > 0 then
  redis.call('ZADD', KEYS[3], now, seq .. ':' .. tokens)
  redis.call('INCRBY', KEYS[4], tokens)
  redis.call('PEXPIRE', KEYS[3], 62000)
  redis.call('PEXPIRE', KEYS[4], 62000)
end
return '0'
"""

# KEYS: tokens, tsum, seq. ARGV: delta, minute span. More tokens when delta is positive;
# fewer: taken back from the oldest entries, which expire first, as the in-process window does.
_CORRECT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local delta = tonumber(ARGV[1])
local minute = tonumber(ARGV[2])
if delta > 0 then
  local seq = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], now, seq .. ':' .. delta)
  redis.call('INCRBY', KEYS[2], delta)
  redis.call('PEXPIRE', KEYS[1], 62000)
  redis.call('PEXPIRE', KEYS[2], 62000)
  return 0
end
local left = -delta
local log = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #log, 2 do
  if left <= 0 then break end
  local member, score = log[i], log[i + 1]
  if tonumber(score) > now - minute then
    local id, units = string.match(member, '^(.*):(%d+)$')
    units = tonumber(units)
    redis.call('ZREM', KEYS[1], member)
    if units > left then
      redis.call('ZADD', KEYS[1], score, id .. ':' .. (units - left))
      redis.call('DECRBY', KEYS[2], left)
      left = 0
    else
      redis.call('DECRBY', KEYS[2], units)
      left = left - units
    end
  end
end
return 0
"""


def connect(url: str) -> Any:
    """A redis-py client for ``url`` (no connection is made yet); one line naming the extra
    when redis-py is missing."""
    try:
        import redis
    except ImportError:
        raise ImportError(INSTALL) from None
    return redis.Redis.from_url(url)


class RedisBudget(_Budget):
    """The windows of one budget, in Redis. The limits are this process's (set with
    :meth:`set_limits`); the usage is everyone's."""

    __slots__ = ("_correct", "_due", "_keys", "_qps", "_rpm", "_take", "_tpm")

    def __init__(
        self,
        client: Any,
        name: str,
        qps: float | None,
        rpm: float | None,
        tpm: float | None,
    ) -> None:
        base = f"qianfan:rl:{{{name}}}:"
        self._keys = [base + part for part in ("second", "minute", "tokens", "tsum", "pause")]
        self._keys.append(base + "seq")
        self._take = client.register_script(_TAKE)
        self._correct = client.register_script(_CORRECT)
        self._qps: float | None = None
        self._rpm: float | None = None
        self._tpm: float | None = None
        self._due: float | None = None  # when the wait last returned ends (this clock)
        super().__init__(qps, rpm, tpm)

    def set_limits(self, qps: float | None, rpm: float | None, tpm: float | None) -> None:
        # The local windows stay empty: they only say which kinds are limited (``tokens``).
        super().set_limits(qps, rpm, tpm)
        self._qps = qps if qps is not None else self._qps
        self._rpm = rpm if rpm is not None else self._rpm
        self._tpm = tpm if tpm is not None else self._tpm

    def take(self, now: float, tokens: int, pause: float = 0.0) -> float:
        qps, span = 0.0, SECOND
        if self._qps is not None:
            qps, span = (self._qps, SECOND) if self._qps >= 1 else (1.0, SECOND / self._qps)
        limits = [qps, redis_span(span), self._rpm or 0, self._tpm or 0]
        late = self._due is not None and now - self._due > LATE
        args = [*limits, max(0, tokens), max(0.0, pause), redis_span(MINUTE), COLD, int(late)]
        wait = float(self._take(keys=self._keys, args=args))
        self._due = now + wait if wait > 0 else None
        return wait

    def correct(self, now: float, delta: int) -> None:
        if self._tpm is None or delta == 0:
            return
        keys = [self._keys[2], self._keys[3], self._keys[5]]
        self._correct(keys=keys, args=[delta, redis_span(MINUTE)])


def budget_factory(client: Any, name: str) -> Any:
    """The ``budget=`` of a :class:`Throttle` whose windows are ``name``'s in Redis."""

    def make(qps: float | None, rpm: float | None, tpm: float | None) -> RedisBudget:
        return RedisBudget(client, name, qps, rpm, tpm)

    return make
