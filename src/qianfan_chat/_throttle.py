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

This module is the standard library only (so nothing to import lazily, and no dependency):
about 5 us per uncontended ``acquire`` with all three limits set (pyrate-limiter's: 8 us for
one limit), 0.1 us with none, and one entry per request (plus one per correction) in each
window. The same trial as above here: thread and task alternate once both queue, the worst
1 s window held 10, and the event loop never lagged more than 5 ms.

Where issue 14's extensions go: limits learned from ``X-Ratelimit-*`` headers, and slowing
down on 429 / 18 / 336501 / 336502 / ``rpm_rate_limit_exceeded`` / ``tpm_rate_limit_exceeded``
and speeding back up, change ``_Window.limit`` under the lock (the usage counted so far
stays), and the head of the queue sees the new limits on its next check. A budget shared
across processes through Redis replaces :class:`_Budget` (its ``take(now, tokens) -> seconds``
and ``correct(now, delta)`` become one atomic script each, with wall-clock time); the FIFO
queue stays per process.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._errors import InvalidRequestError

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

    __slots__ = ("requests", "tokens")

    def __init__(self, qps: float | None, rpm: float | None, tpm: float | None) -> None:
        self.requests: list[_Window] = []
        if qps is not None:
            self.requests.append(_Window(qps, SECOND) if qps >= 1 else _Window(1, SECOND / qps))
        if rpm is not None:
            self.requests.append(_Window(rpm, MINUTE))
        self.tokens = _Window(tpm, MINUTE) if tpm is not None else None

    def take(self, now: float, tokens: int) -> float:
        """Count one request of ``tokens`` if every window admits it now and return 0.0;
        else count nothing and return the seconds until the slowest window could admit it."""
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


class Throttle:
    """Client-side limits for one client: requests per second and per minute, tokens per minute.

    ``query_per_second``, ``request_per_minute``, ``token_per_minute``: the official SDK's
    options (``None``: no such limit); a limit that is not a positive number (a whole one for
    the per-minute two) raises :class:`~qianfan_chat.InvalidRequestError` naming the option.
    Every call of the client goes through :meth:`acquire` or :meth:`aacquire` before it is
    sent and :meth:`settle` after its reply, so its threads and tasks share one budget. ::

        throttle = Throttle(query_per_second=2, token_per_minute=100_000)
        await throttle.aacquire(1200)   # waits (without blocking the loop) if over a limit
        throttle.settle(1200, 1530)     # the reply's usage.total_tokens

    ``clock``, ``sleep`` and ``asleep`` default to ``time.monotonic``, ``time.sleep`` and
    ``asyncio.sleep``; tests pass others (a fake clock, or a faster one).
    """

    def __init__(
        self,
        *,
        query_per_second: float | None = None,
        request_per_minute: int | None = None,
        token_per_minute: int | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        asleep: AsyncSleep = asyncio.sleep,
    ) -> None:
        qps = _positive("query_per_second", query_per_second, whole=False)
        rpm = _positive("request_per_minute", request_per_minute, whole=True)
        tpm = _positive("token_per_minute", token_per_minute, whole=True)
        self._query_per_second = qps
        self._request_per_minute = None if rpm is None else int(rpm)
        self._token_per_minute = None if tpm is None else int(tpm)
        self._budget = None if qps is rpm is tpm is None else _Budget(qps, rpm, tpm)
        self._clock, self._sleep, self._asleep = clock, sleep, asleep
        self._lock = threading.Lock()
        self._queue: deque[_Waiter] = deque()  # [0] is the head, the only one that sleeps

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
    def active(self) -> bool:
        """Whether any limit is set; when not, every method returns at once."""
        return self._budget is not None

    def __repr__(self) -> str:
        return (
            f"Throttle(query_per_second={self._query_per_second!r}, "
            f"request_per_minute={self._request_per_minute!r}, "
            f"token_per_minute={self._token_per_minute!r})"
        )

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
        if self._budget is None or self._budget.tokens is None:
            return
        with self._lock:
            self._budget.correct(self._clock(), int(actual) - int(estimated))

    # -- the queue: each method holds the lock for a few short list operations, never a wait --

    def _enter(self, tokens: int, make: Callable[[], W]) -> tuple[float | None, W | None]:
        """Take at once when nobody is queued and the windows admit it: ``(0.0, None)``.
        Else queue a waiter: ``(wait, waiter)`` when it is the head, ``(None, waiter)`` when
        it must wait for its turn."""
        assert self._budget is not None
        wait: float | None = None
        with self._lock:
            head = not self._queue
            if head:
                wait = self._budget.take(self._clock(), max(0, tokens))
                if wait <= 0:
                    return 0.0, None
            waiter = make()
            self._queue.append(waiter)
            return wait, waiter

    def _try(self, waiter: _Waiter, tokens: int) -> float:
        """The head's check: take, leave the queue and wake the next head (0.0), or return
        the seconds to sleep before checking again."""
        assert self._budget is not None
        with self._lock:
            wait = self._budget.take(self._clock(), max(0, tokens))
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
