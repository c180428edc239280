"""Client-side rate limits for one client, shared by its sync and async calls.

The official SDK's options, with its names: ``query_per_second`` (a positive number),
``request_per_minute`` and ``token_per_minute`` (positive whole numbers). Any mix may be set;
``None`` leaves that limit off. ::

    throttle = Throttle(request_per_minute=300, token_per_minute=300_000)
    throttle.acquire(estimate)              # or: await throttle.aacquire(estimate)
    reply = send(...)
    throttle.settle(estimate, reply["usage"]["total_tokens"])

How it counts, the way the server counts (a sliding window, not a fixed one):

* ``request_per_minute``: at most that many requests in any 60 s; ``query_per_second``: at
  most ``q`` in any 1 s (a fractional ``q`` above 1 therefore allows ``floor(q)`` a second);
  below 1, one request in any ``1/q`` s (0.5 is one every 2 s, as the SDK reads it).
* ``token_per_minute``: ``acquire`` counts the request's token estimate when it is admitted;
  ``settle`` then counts the difference to the reply's real ``usage.total_tokens``. More
  tokens are counted at settle time (the server counts a reply's completion tokens when it
  builds the reply, after the prompt's); fewer are taken back from the oldest counted
  tokens, which expire first, so a refund never frees more than refunding this request's
  own entry would (while that entry is still in the window).
* A request whose estimate alone exceeds ``token_per_minute`` is admitted once the window is
  empty (it could never fit otherwise), and counts in full: the next request waits for it to
  expire. Nothing deadlocks.

How it waits: callers queue in arrival order, threads and tasks in one FIFO queue, and only
the head of the queue ever waits on the clock; it checks the windows, sleeps until they admit
it (``time.sleep`` in a thread, ``asyncio.sleep`` in a task), takes its share and hands the
head over (a ``threading.Event`` for a thread, ``loop.call_soon_threadsafe`` for a task). So
a thread and a task of the same client never exceed the limits together; no caller overtakes
another (a large request at the head holds the small ones behind it: it is never starved);
the one ``threading.Lock`` guards short list operations and is never held while anyone
waits, so a task never blocks its event loop on it for longer than that; a thread or task
that is cancelled or interrupted while queued leaves the queue and passes the head on.
With no limit set (``active`` is false) every method returns at once and touches nothing.

Why hand-written: both limiter libraries were tried on this job (pyrate-limiter 4.5.1,
limits 5.8.0, Python 3.11, Dec 2026) and neither does it:

* pyrate-limiter (pure Python, no dependencies, the better fit): ``try_acquire(weight=w)``
  returns False for ``w`` above the limit, so an oversize request needs a workaround; its
  sync path polls while its async path queues tasks on an ``asyncio.Lock``, so they do not
  share one queue: a thread and a task each acquiring 15 under 10 per second got admitted
  as 15 thread acquires, then 15 task acquires (the task starved for the thread's whole run);
  every wait is stretched by ``buffer_ms`` (50 ms: ten acquires at 1 per 100 ms took 1.36 s,
  not 0.9 s); each ``Limiter`` starts a background "Leaker" thread; RPM and TPM need two
  buckets that its public API cannot check together, and ``settle`` has no API at all (a
  bucket takes no units back, and a full bucket refuses the late tokens), so it would mean
  writing into ``InMemoryBucket.items``, which also stores one entry per token (300,000 for
  a 300k TPM window, 31 us a put).
* limits: no waiting at all (``hit``/``test`` only), windows in whole seconds (a 0.2 s window
  becomes 0), wall-clock time, a separate storage for asyncio (so sync and async calls would
  not share a budget), one entry per unit of cost, and an 83 ms import that pulls in
  ``deprecated``, ``wrapt`` and ``packaging``.

Issue 14's additions did not change that: learning changes a window's limit while its usage
stays, and a Redis budget needs the same ``take`` / ``correct`` pair, atomically. Both
libraries have Redis backends, but they carry the gaps above over (pyrate-limiter's bucket
still takes no units back and refuses a weight above the limit; limits' moving window still
does not wait, and counts whole seconds), so the Redis windows are two short Lua scripts of
this library's own (:mod:`._budget_redis`), not a third library.

This module is the standard library only (so nothing to import lazily, and no dependency):
about 5 us per uncontended ``acquire`` with all three limits set (pyrate-limiter's: 8 us for
one limit), 0.1 us with none, and one entry per request (plus one per correction) in each
window. The same trial as above here: thread and task alternate once both queue, the worst
1 s window held 10, and the event loop never lagged more than 5 ms.

Learning (``learn=True``; ``ChatCompletion(learn_rate_limits=True)``, the default): the flow
calls two pure hooks, :meth:`Throttle.observe` with every reply's headers (the server's
``X-Ratelimit-Limit-Requests`` / ``-Tokens`` / ``-Input-Tokens`` are recorded) and
:meth:`Throttle.limited` with every rate-limit refusal (429, 18, 336501, 336502,
``*_rate_limit_exceeded``), before it decides on the retry. Nothing is enforced before the
first refusal: headers alone never make a call wait (the local server, and gateways, send
nominal figures that nothing enforces), so a user who hits no limit is never slowed. A refusal
starts enforcing the learned limits (under the explicit ones), AIMD-style: the refused kind
(requests, or tokens for TPM codes) is halved, at most once a second and down to 1/16, then
grows back linearly, from half to whole in 30 s; nothing goes until the server's
``Retry-After`` or ``X-Ratelimit-Reset-*`` (else 1 s, at most 60 s). A throttle that only
learning made active lets calls straight through again after a calm minute.

Budgets (:class:`Budgets`): one :class:`Throttle` per credential and target (URL and model)
in a process-wide registry keyed by a SHA-256 digest, so every client with the same key and
model shares it, and the registry never holds a secret. With a Redis URL the windows live in
Redis (:mod:`._budget_redis`: ``take`` and ``correct`` are one atomic Lua script each, on
Redis's clock); the FIFO queue stays per process, and a pause is written to Redis so every
process keeps it.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from ._errors import InvalidRequestError

TPM_LIMIT_CODE = 336502  # v1's "Rate limit reached for TPM" (protocol.md section 1)

SECOND = 1.0
MINUTE = 60.0

Clock = Callable[[], float]
Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]


def _positive(option: str, value: object, *, whole: bool) -> float | None:
    """``value`` checked as a limit: None (no limit), else a positive finite number."""
    if value is None:
        return None
    kind = "a positive whole number" if whole else "a positive number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(option, f"must be {kind} or None, got {value!r}")
    if not math.isfinite(value) or value <= 0 or (whole and value != int(value)):
        raise InvalidRequestError(option, f"must be {kind} or None, got {value!r}")
    return float(value)


# Learning (``learn=True``), see the module docstring. The header names: protocol.md section 1
# and protocol-v2.md "Errors" (v1 and the older v2 form: one tokens pair; newer v2: input and
# output tokens, of which the input limit is read: this client counts total tokens against
# it, which errs on the slow side); reset headers in OpenAI's form ("1s", "6m0s", "20ms") or
# seconds, as some gateways in front of Qianfan send them.
LIMIT_REQUESTS = "x-ratelimit-limit-requests"
LIMIT_TOKENS = ("x-ratelimit-limit-tokens", "x-ratelimit-limit-input-tokens")
RETRY_AFTER = "retry-after"
RESETS = {
    "requests": ("x-ratelimit-reset-requests", "x-ratelimit-reset"),
    "tokens": ("x-ratelimit-reset-tokens", "x-ratelimit-reset-input-tokens", "x-ratelimit-reset"),
}
DECREASE = 0.5  # a refusal halves the refused kind's limits ...
CUT_INTERVAL = 1.0  # ... at most once a second (the refusals of one burst count once)
MIN_SCALE = 1 / 16
RECOVERY = 1 / 60  # then they recover linearly: from half to whole in 30 s
DEFAULT_PAUSE = 1.0  # nothing goes for this long after a refusal that names no wait
MAX_PAUSE = 60.0
CALM_AFTER = MINUTE  # a learning-only throttle lets calls through again after a calm minute


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-case name (httpx's headers, and dicts made from them, are)."""
    value = headers.get(name)
    if value is None and not hasattr(headers, "raw"):  # a plain dict: try Baidu's spelling
        value = headers.get("-".join(part.capitalize() for part in name.split("-")))
    return value


def _header_number(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        value = _header(headers, name)
        if value is not None:
            try:
                number = float(value)
            except ValueError:
                continue
            if math.isfinite(number) and number > 0:
                return number
    return None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(value: str) -> float | None:
    """``Retry-After`` / reset values: seconds ("2", "0.5"), or a duration ("1m30s", "20ms")."""
    from ._retry import retry_after_seconds

    value = value.strip()
    parts = _DURATION.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        return sum(float(n) * _UNIT[u] for n, u in parts)
    return retry_after_seconds(value)


def _header_seconds(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        value = _header(headers, name)
        if value:
            seconds = _seconds(value)
            if seconds is not None:
                return seconds
    return None


def _is_token_limit(code: int | str | None) -> bool:
    """Whether a rate-limit code names the tokens (TPM) limit: 336502, ``*tpm*``."""
    if isinstance(code, str):
        return "tpm" in code
    return code == TPM_LIMIT_CODE


def _lower(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


class _Window:
    """One sliding-window limit: at most ``limit`` units in any ``span`` seconds.

    The log holds ``(time, units)`` entries in time order; an entry stops counting ``span``
    seconds after it was made (at exactly that instant, as the server prunes).
    """

    __slots__ = ("_log", "_used", "limit", "span")

    def __init__(self, limit: float, span: float) -> None:
        self.limit = limit
        self.span = span
        self._log: deque[tuple[float, int]] = deque()
        self._used = 0

    def used(self, now: float) -> int:
        """Units counted in the window ending at ``now``."""
        self._prune(now)
        return self._used

    def _prune(self, now: float) -> None:
        log, horizon = self._log, now - self.span
        while log and log[0][0] <= horizon:
            self._used -= log.popleft()[1]

    def wait(self, now: float, units: int) -> float:
        """Seconds until ``units`` more fit (0.0: now). More than ``limit`` fits once empty."""
        self._prune(now)
        excess = min(self._used + units - self.limit, self._used)
        if excess <= 0:
            return 0.0
        freed = 0
        for stamp, counted in self._log:  # the oldest expire first
            freed += counted
            if freed >= excess:
                return stamp + self.span - now
        return self._log[-1][0] + self.span - now  # not reached: freeing all frees enough

    def add(self, now: float, units: int) -> None:
        if units > 0:
            self._log.append((now, units))
            self._used += units

    def refund(self, now: float, units: int) -> None:
        """Take ``units`` back from the oldest entries still in the window."""
        self._prune(now)
        log = self._log
        while units > 0 and log:
            stamp, counted = log[0]
            if counted > units:
                log[0] = (stamp, counted - units)
                self._used -= units
                return
            log.popleft()
            self._used -= counted
            units -= counted


class _Budget:
    """The windows of one client and the decision they make together: no lock, no clock."""

    __slots__ = ("minute", "requests", "second", "tokens")

    def __init__(self, qps: float | None, rpm: float | None, tpm: float | None) -> None:
        self.requests: list[_Window] = []
        self.second: _Window | None = None
        self.minute: _Window | None = None
        self.tokens: _Window | None = None
        self.set_limits(qps, rpm, tpm)

    def set_limits(self, qps: float | None, rpm: float | None, tpm: float | None) -> None:
        """New limits for the same windows (what was counted stays); a limit that had no
        window gets a new, empty one; None leaves a window as it is."""
        if qps is not None:
            limit, span = (qps, SECOND) if qps >= 1 else (1.0, SECOND / qps)
            if self.second is None:
                self.second = _Window(limit, span)
            self.second.limit, self.second.span = limit, span
        if rpm is not None:
            if self.minute is None:
                self.minute = _Window(rpm, MINUTE)
            self.minute.limit = rpm
        if tpm is not None:
            if self.tokens is None:
                self.tokens = _Window(tpm, MINUTE)
            self.tokens.limit = tpm
        self.requests = [w for w in (self.second, self.minute) if w is not None]

    def take(self, now: float, tokens: int, pause: float = 0.0) -> float:
        """Count one request of ``tokens`` if every window admits it now and return 0.0;
        else count nothing and return the seconds until the slowest window could admit it.
        ``pause``: seconds nothing may go (a server said so); the shared budget shares it."""
        if pause > 0:
            return pause
        wait = 0.0
        for window in self.requests:
            wait = max(wait, window.wait(now, 1))
        if self.tokens is not None:
            wait = max(wait, self.tokens.wait(now, tokens))
        if wait > 0:
            return wait
        for window in self.requests:
            window.add(now, 1)
        if self.tokens is not None:
            self.tokens.add(now, tokens)
        return 0.0

    def correct(self, now: float, delta: int) -> None:
        """Count ``delta`` more tokens (fewer, when negative) than were counted."""
        if self.tokens is None:
            return
        if delta > 0:
            self.tokens.add(now, delta)
        elif delta < 0:
            self.tokens.refund(now, -delta)


class _ThreadWaiter:
    __slots__ = ("turn",)

    def __init__(self) -> None:
        self.turn = threading.Event()

    def wake(self) -> bool:
        self.turn.set()
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a cancelled task has cancelled its future
        future.set_result(None)


class _TaskWaiter:
    __slots__ = ("loop", "turn")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.turn: asyncio.Future[None] = loop.create_future()

    def wake(self) -> bool:
        try:
            self.loop.call_soon_threadsafe(_resolve, self.turn)
        except RuntimeError:  # its loop is closed: nobody is waiting any more
            return False
        return True


_Waiter = _ThreadWaiter | _TaskWaiter
W = TypeVar("W", _ThreadWaiter, _TaskWaiter)


BudgetFactory = Callable[[float | None, float | None, float | None], _Budget]


class Throttle:
    """Client-side limits for one budget: requests per second and per minute, tokens per minute.

    ``query_per_second``, ``request_per_minute``, ``token_per_minute``: the official SDK's
    options (``None``: no such limit); a limit that is not a positive number (a whole one for
    the per-minute two) raises :class:`~qianfan_chat.InvalidRequestError` naming the option.
    Every call of the client goes through :meth:`acquire` or :meth:`aacquire` before it is
    sent and :meth:`settle` after its reply, so its threads and tasks share one budget. ::

        throttle = Throttle(query_per_second=2, token_per_minute=100_000)
        await throttle.aacquire(1200)   # waits (without blocking the loop) if over a limit
        throttle.settle(1200, 1530)     # the reply's usage.total_tokens

    ``learn``: read the server's limits from each reply's ``X-Ratelimit-*`` headers
    (:meth:`observe`) and slow down when the server refuses a call for a rate limit
    (:meth:`limited`), then speed back up; see the module's docstring. ``budget``: where the
    windows live (default: this process; :mod:`._budget_redis` shares them through Redis).

    ``clock``, ``sleep`` and ``asleep`` default to ``time.monotonic``, ``time.sleep`` and
    ``asyncio.sleep``; tests pass others (a fake clock, or a faster one).
    """

    def __init__(
        self,
        *,
        query_per_second: float | None = None,
        request_per_minute: int | None = None,
        token_per_minute: int | None = None,
        learn: bool = False,
        budget: BudgetFactory | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        asleep: AsyncSleep = asyncio.sleep,
    ) -> None:
        self._clock, self._sleep, self._asleep = clock, sleep, asleep
        self._lock = threading.Lock()
        self._queue: deque[_Waiter] = deque()  # [0] is the head, the only one that sleeps
        self._make_budget: BudgetFactory = budget or _Budget
        self._shared = budget is not None  # a shared budget keeps the pause itself
        self.learn = learn
        self._learned: dict[str, float] = {}  # "rpm" / "tpm" from the headers
        # AIMD: each kind's limits are multiplied by its scale, halved at a refusal and
        # recovering linearly (RECOVERY per second) back to 1.
        self._scale = {"requests": 1.0, "tokens": 1.0}
        self._cut_at = {"requests": -math.inf, "tokens": -math.inf}
        self._cut_scale = {"requests": 1.0, "tokens": 1.0}
        self._paused_until = -math.inf
        self._refused_at = -math.inf
        self._budget: _Budget | None = None
        self.set_limits(query_per_second, request_per_minute, token_per_minute)

    def set_limits(
        self,
        query_per_second: float | None = None,
        request_per_minute: int | None = None,
        token_per_minute: int | None = None,
    ) -> None:
        """Set the explicit limits (what was counted stays)."""
        qps = _positive("query_per_second", query_per_second, whole=False)
        rpm = _positive("request_per_minute", request_per_minute, whole=True)
        tpm = _positive("token_per_minute", token_per_minute, whole=True)
        with self._lock:
            self._query_per_second = qps
            self._request_per_minute = None if rpm is None else int(rpm)
            self._token_per_minute = None if tpm is None else int(tpm)
            if self._budget is None and not qps is rpm is tpm is None:
                self._budget = self._make_budget(qps, rpm, tpm)
            if self._budget is not None:
                self._apply(self._clock())

    @property
    def query_per_second(self) -> float | None:
        return self._query_per_second

    @property
    def request_per_minute(self) -> int | None:
        return self._request_per_minute

    @property
    def token_per_minute(self) -> int | None:
        return self._token_per_minute

    @property
    def explicit(self) -> bool:
        """Whether any limit was set by the caller (not learned)."""
        return not self._query_per_second is self._request_per_minute is self._token_per_minute

    @property
    def active(self) -> bool:
        """Whether calls wait here: a limit is set, or was learned after a refusal. When
        not, every method returns at once (``observe`` only reads a few headers)."""
        return self._budget is not None

    def limits(self) -> dict[str, float | None]:
        """The limits in force now: explicit ones and learned ones, the lower of the two,
        each scaled down after refusals (``None``: no such limit)."""
        with self._lock:
            return dict(zip(("qps", "rpm", "tpm"), self._effective(self._clock()), strict=True))

    def __repr__(self) -> str:
        return (
            f"Throttle(query_per_second={self._query_per_second!r}, "
            f"request_per_minute={self._request_per_minute!r}, "
            f"token_per_minute={self._token_per_minute!r}, learn={self.learn!r})"
        )

    # -- learning: pure hooks the flow calls with what the server said ------------------------

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read the server's limits from a reply's ``X-Ratelimit-*`` headers (any reply,
        errors too). Nothing else changes: a learned limit is enforced only after a refusal."""
        if not self.learn:
            return
        rpm = _header_number(headers, LIMIT_REQUESTS)
        tpm = _header_number(headers, *LIMIT_TOKENS)
        if rpm is None and tpm is None:
            return
        with self._lock:
            if rpm is not None:
                self._learned["rpm"] = rpm
            if tpm is not None:
                self._learned["tpm"] = tpm
            if self._budget is not None:
                self._apply(self._clock())

    def limited(self, code: int | str | None, headers: Mapping[str, str]) -> None:
        """The server refused a call for a rate limit (HTTP 429, codes 18 / 336501 / 336502 /
        ``*_rate_limit_exceeded``): halve the refused kind's limits (at most once a second;
        not when the caller set that kind's limit: then only the pause),
        pause for the server's ``Retry-After`` or reset time (else :data:`DEFAULT_PAUSE`),
        and start enforcing (learned limits included)."""
        if not self.learn:
            return
        kind = "tokens" if _is_token_limit(code) else "requests"
        pause = _header_seconds(headers, RETRY_AFTER) or _header_seconds(headers, *RESETS[kind])
        pause = min(pause if pause is not None else DEFAULT_PAUSE, MAX_PAUSE)
        with self._lock:
            now = self._clock()
            self._refused_at = now
            self._paused_until = max(self._paused_until, now + pause)
            # A limit the caller set is the account's: a refusal under it is the edge of a
            # window (the server counts an admission a hop later), so the pause is enough;
            # halving it would cost a batch a fifth of its rate. Unknown limits are halved.
            if not self._set_by_caller(kind) and now - self._cut_at[kind] >= CUT_INTERVAL:
                scale = max(MIN_SCALE, self._scaled(kind, now) * DECREASE)
                self._cut_at[kind], self._cut_scale[kind] = now, scale
            if self._budget is None:
                self._budget = self._make_budget(*self._effective(now))
            self._apply(now)

    def _set_by_caller(self, kind: str) -> bool:
        if kind == "tokens":
            return self._token_per_minute is not None
        return self._request_per_minute is not None or self._query_per_second is not None

    def _scaled(self, kind: str, now: float) -> float:
        recovered = self._cut_scale[kind] + (now - self._cut_at[kind]) * RECOVERY
        return min(1.0, recovered)

    def _effective(self, now: float) -> tuple[float | None, float | None, float | None]:
        requests, tokens = self._scaled("requests", now), self._scaled("tokens", now)
        self._scale["requests"], self._scale["tokens"] = requests, tokens
        learned: dict[str, float] = {}
        if now - self._refused_at < CALM_AFTER:  # learned limits hold only after a refusal
            learned = self._learned
        rpm = _lower(self._request_per_minute, learned.get("rpm"))
        tpm = _lower(self._token_per_minute, learned.get("tpm"))
        qps = self._query_per_second
        return (
            None if qps is None else qps * requests,
            None if rpm is None else max(1.0, math.floor(rpm * requests)),
            None if tpm is None else max(1.0, math.floor(tpm * tokens)),
        )

    def _apply(self, now: float) -> None:
        """Give the budget the limits in force now (under the lock)."""
        if self._budget is not None:
            self._budget.set_limits(*self._effective(now))

    def _calm(self, now: float) -> bool:
        """Learning alone made this throttle wait, and the server has not refused a call
        for :data:`CALM_AFTER` seconds: back to letting every call through at once."""
        return (
            not self.explicit
            and now - self._refused_at >= CALM_AFTER
            and self._scaled("requests", now) >= 1.0
            and self._scaled("tokens", now) >= 1.0
        )

    def _take(self, tokens: int) -> float:
        """The budget's decision now, with the limits in force now (under the lock)."""
        assert self._budget is not None
        now = self._clock()
        if self._refused_at > -math.inf:  # the learned limits and scales change with time
            self._apply(now)
            if now - self._refused_at >= CALM_AFTER and min(self._scale.values()) >= 1.0:
                self._refused_at = -math.inf  # calm: the explicit limits alone, from now on
        pause = self._paused_until - now
        if pause > 0 and self._shared:
            return self._budget.take(now, max(0, tokens), pause)
        if pause > 0:
            return pause
        return self._budget.take(now, max(0, tokens))

    def acquire(self, tokens: int) -> None:
        """Block (``time.sleep``) until one request of about ``tokens`` prompt tokens may go,
        and count it. Callers are served in arrival order, threads and tasks alike."""
        if self._budget is None:
            return
        wait, waiter = self._enter(tokens, _ThreadWaiter)
        if waiter is None:
            return
        try:
            if wait is None:
                waiter.turn.wait()
                wait = self._try(waiter, tokens)
            while wait > 0:
                self._sleep(wait)
                wait = self._try(waiter, tokens)
        except BaseException:
            self._leave(waiter)
            raise

    async def aacquire(self, tokens: int) -> None:
        """Await (``asyncio.sleep``) until one request of about ``tokens`` prompt tokens may go,
        and count it. Never blocks the event loop; cancelling it while it waits counts nothing
        and lets the next caller through."""
        if self._budget is None:
            return
        loop = asyncio.get_running_loop()
        wait, waiter = self._enter(tokens, lambda: _TaskWaiter(loop))
        if waiter is None:
            return
        try:
            if wait is None:
                await waiter.turn
                wait = self._try(waiter, tokens)
            while wait > 0:
                await self._asleep(wait)
                wait = self._try(waiter, tokens)
        except BaseException:
            self._leave(waiter)
            raise

    def settle(self, estimated: int, actual: int) -> None:
        """After the reply: count its real total tokens (``usage.total_tokens``) instead of the
        ``estimated`` tokens :meth:`acquire` counted. No-op without ``token_per_minute``."""
        if self._budget is None:
            return
        with self._lock:
            if self._budget is not None and self._budget.tokens is not None:
                self._budget.correct(self._clock(), int(actual) - int(estimated))

    # -- the queue: each method holds the lock for a few short list operations, never a wait --

    def _enter(self, tokens: int, make: Callable[[], W]) -> tuple[float | None, W | None]:
        """Take at once when nobody is queued and the windows admit it: ``(0.0, None)``.
        Else queue a waiter: ``(wait, waiter)`` when it is the head, ``(None, waiter)`` when
        it must wait for its turn."""
        wait: float | None = None
        with self._lock:
            head = not self._queue
            if head:
                if self._budget is None or self._calm(self._clock()):
                    self._budget = None  # nobody is queued: nobody waits on it
                    return 0.0, None
                wait = self._take(tokens)
                if wait <= 0:
                    return 0.0, None
            waiter = make()
            self._queue.append(waiter)
            return wait, waiter

    def _try(self, waiter: _Waiter, tokens: int) -> float:
        """The head's check: take, leave the queue and wake the next head (0.0), or return
        the seconds to sleep before checking again."""
        with self._lock:
            wait = self._take(tokens) if self._budget is not None else 0.0
            if wait <= 0:
                if self._queue and self._queue[0] is waiter:
                    self._queue.popleft()
                else:  # not reached: only the head checks
                    self._queue.remove(waiter)
                self._wake_head()
            return wait

    def _leave(self, waiter: _Waiter) -> None:
        """A waiter that gives up (cancelled, interrupted) leaves; if it was the head, the
        next one becomes the head."""
        with self._lock:
            if waiter in self._queue:
                was_head = self._queue[0] is waiter
                self._queue.remove(waiter)
                if was_head:
                    self._wake_head()

    def _wake_head(self) -> None:
        queue = self._queue
        while queue and not queue[0].wake():
            queue.popleft()


# -- the process-wide registry: one budget per credential and model ----------------------------

_REGISTRY: dict[str, Throttle] = {}
_REGISTRY_LOCK = threading.Lock()


def digest(*parts: str) -> str:
    """A stable name for a budget: a SHA-256 of the credential and the target, so the
    registry (and Redis) never hold a secret in clear."""
    import hashlib

    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def clear_budgets() -> None:
    """Forget every budget of this process (tests; a fork that wants a fresh start)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()


class Budgets:
    """One client's door to the registry: :meth:`get` gives the throttle of a call's target
    (its URL and model), shared by every client in the process with the same credential.

    ``limits``: the explicit ``query_per_second`` / ``request_per_minute`` /
    ``token_per_minute`` (checked now; the newest client's limits apply to a shared budget);
    ``learn``: learn from the server (see the module docstring); ``redis_url``: keep the
    windows in Redis, shared by every process and host that uses the same URL and credential
    (``QIANFAN_RATE_LIMIT_REDIS_URL`` when None).
    """

    __slots__ = ("_cache", "_identity", "_limits", "_redis", "_redis_url", "learn")

    def __init__(
        self,
        identity: str,
        limits: tuple[float | None, int | None, int | None] | None,
        *,
        learn: bool,
        redis_url: str | None = None,
    ) -> None:
        if limits is not None:
            _positive("query_per_second", limits[0], whole=False)
            _positive("request_per_minute", limits[1], whole=True)
            _positive("token_per_minute", limits[2], whole=True)
        self._identity = identity
        self._limits = limits
        self.learn = learn
        self._cache: dict[tuple[str, str | None], Throttle] = {}
        if not redis_url:  # the SDK's settings order: set in code, the environment, .env
            from ._config import Settings

            redis_url = Settings.environment().get("QIANFAN_RATE_LIMIT_REDIS_URL")
        url = redis_url or None
        self._redis_url = url or ""
        self._redis: Any = None
        if url is not None:
            from ._budget_redis import connect

            self._redis = connect(url)

    @property
    def shared(self) -> bool:
        """Whether the budgets live in Redis."""
        return self._redis is not None

    def get(self, url: str, model: str | None) -> Throttle:
        throttle = self._cache.get((url, model))
        if throttle is None:
            throttle = self._cache[(url, model)] = self._shared_throttle(url, model)
        return throttle

    def _shared_throttle(self, url: str, model: str | None) -> Throttle:
        key = digest(self._identity, url, model or "", self._redis_url)
        limits = self._limits or (None, None, None)
        with _REGISTRY_LOCK:
            throttle = _REGISTRY.get(key)
            if throttle is None:
                factory: BudgetFactory | None = None
                if self._redis is not None:
                    from ._budget_redis import budget_factory

                    factory = budget_factory(self._redis, key)
                throttle = _REGISTRY[key] = Throttle(
                    query_per_second=limits[0],
                    request_per_minute=limits[1],
                    token_per_minute=limits[2],
                    learn=self.learn,
                    budget=factory,
                )
                return throttle
        if self._limits is not None:
            throttle.set_limits(*self._limits)
        throttle.learn = throttle.learn or self.learn
        return throttle
