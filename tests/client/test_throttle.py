"""Client-side rate limits (`_throttle.Throttle`), on the sync and the async path.

Two kinds of time: `FakeTime` moves only when the throttle sleeps, so admission times are exact
and cost no real time (only the head of the queue ever sleeps, so even threads share it
safely); `FastTime` is real time run faster (a throttle minute lasts a fraction of a real
second), for what needs real concurrency. Rates are checked on the throttle's own clock,
never with tight real-time bounds.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from qianfan_chat import InvalidRequestError
from qianfan_chat._throttle import MINUTE, SECOND, Throttle, _Budget, _TaskWaiter, _ThreadWaiter

PATHS = ["sync", "async"]
DEADLINE = 20.0  # real seconds: a hung test fails instead of hanging the run


class FakeTime:
    """A clock that moves only when the throttle sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)

    def throttle(self, **limits: Any) -> Throttle:
        return Throttle(**limits, clock=self.clock, sleep=self.sleep, asleep=self.asleep)


class FastTime:
    """Real time, ``speed`` times faster."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.start = time.monotonic()

    def clock(self) -> float:
        return (time.monotonic() - self.start) * self.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.speed)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    def throttle(self, **limits: Any) -> Throttle:
        return Throttle(**limits, clock=self.clock, sleep=self.sleep, asleep=self.asleep)


class Recorder:
    """Stands in for a throttle's budget and records what it is told, in order (the throttle
    calls it under its lock): admissions as ``(time, tokens, who)``, every event as
    ``(time, token delta, is an admission)``."""

    def __init__(self, throttle: Throttle) -> None:
        self.budget: _Budget = throttle._budget  # type: ignore[assignment]
        self.admitted: list[tuple[float, int, str]] = []
        self.events: list[tuple[float, int, bool]] = []
        throttle._budget = self  # type: ignore[assignment]

    @property
    def tokens(self) -> Any:
        return self.budget.tokens

    def take(self, now: float, tokens: int) -> float:
        wait = self.budget.take(now, tokens)
        if wait <= 0:
            self.admitted.append((now, tokens, "task" if _in_task() else "thread"))
            self.events.append((now, tokens, True))
        return wait

    def correct(self, now: float, delta: int) -> None:
        self.budget.correct(now, delta)
        self.events.append((now, delta, False))

    def times(self) -> list[float]:
        return [t for t, _, _ in self.admitted]


def _in_task() -> bool:
    try:
        return asyncio.current_task() is not None
    except RuntimeError:
        return False


def most_in_window(times: Sequence[float], span: float) -> int:
    """The largest number of ``times`` in any window of ``span`` seconds."""
    ordered = sorted(times)
    return max(
        (sum(1 for u in ordered[i:] if u - t < span) for i, t in enumerate(ordered)), default=0
    )


def windows_of(limits: dict[str, Any]) -> list[tuple[float, float]]:
    """(span, limit) of each request window the limits set, as the module documents them."""
    out = []
    qps = limits.get("query_per_second")
    if qps is not None:
        out.append((SECOND, qps) if qps >= 1 else (SECOND / qps, 1))
    if limits.get("request_per_minute") is not None:
        out.append((MINUTE, limits["request_per_minute"]))
    return out


# -- scripts on fake time: exact admission times ---------------------------------------------

Op = tuple[Any, ...]  # ("acquire", tokens) | ("settle", estimated, actual) | ("pass", seconds)


def play(path: str, throttle: Throttle, fake: FakeTime, ops: Sequence[Op]) -> list[float]:
    """Run ``ops`` one after another; return each acquire's admission time, from 0."""
    start, out = fake.now, []

    async def aplay() -> None:
        for op in ops:
            if op[0] == "acquire":
                await throttle.aacquire(op[1])
                out.append(fake.now - start)
            elif op[0] == "settle":
                throttle.settle(op[1], op[2])
            else:
                fake.sleep(op[1])

    if path == "async":
        asyncio.run(aplay())
        return out
    for op in ops:
        if op[0] == "acquire":
            throttle.acquire(op[1])
            out.append(fake.now - start)
        elif op[0] == "settle":
            throttle.settle(op[1], op[2])
        else:
            fake.sleep(op[1])
    return out


def acquires(*tokens: int) -> list[Op]:
    return [("acquire", n) for n in tokens]


SCRIPTS = [
    pytest.param(
        {"request_per_minute": 3},
        acquires(0, 0, 0, 0, 0),
        [0, 0, 0, 60, 60],
        id="rpm-burst-then-window",
    ),
    pytest.param({"query_per_second": 2}, acquires(0, 0, 0, 0, 0), [0, 0, 1, 1, 2], id="qps-2"),
    pytest.param(
        {"query_per_second": 0.5}, acquires(0, 0, 0), [0, 2, 4], id="qps-below-1-spaces-calls"
    ),
    pytest.param(
        {"query_per_second": 2.5},
        acquires(0, 0, 0, 0, 0),
        [0, 0, 1, 1, 2],
        id="qps-fraction-floors-per-second",
    ),
    pytest.param(
        {"query_per_second": 2, "request_per_minute": 3},
        acquires(0, 0, 0, 0, 0, 0),
        [0, 0, 1, 60, 60, 61],
        id="qps-and-rpm-together",
    ),
    pytest.param(
        {"request_per_minute": 2},
        [("acquire", 0), ("pass", 30), ("acquire", 0), ("acquire", 0), ("acquire", 0)],
        [0, 30, 60, 90],
        id="rpm-window-slides",
    ),
    pytest.param(
        {"token_per_minute": 100}, acquires(60, 30, 20, 10), [0, 0, 60, 60], id="tpm-weighted"
    ),
    pytest.param(
        {"token_per_minute": 100},
        acquires(100, 0, 1),
        [0, 0, 60],
        id="tpm-zero-tokens-fit-a-full-window",
    ),
    pytest.param(
        {"token_per_minute": 100}, acquires(250, 1), [0, 60], id="oversize-admitted-on-empty-window"
    ),
    pytest.param(
        {"token_per_minute": 100},
        acquires(10, 250, 1),
        [0, 60, 120],
        id="oversize-waits-for-empty-window",
    ),
    pytest.param(
        {"request_per_minute": 5, "token_per_minute": 100},
        acquires(50, 50, 1),
        [0, 0, 60],
        id="tpm-binds-before-rpm",
    ),
    # settle: more tokens than estimated count from settle time; fewer are given back
    pytest.param(
        {"token_per_minute": 100},
        [("acquire", 50), ("pass", 10), ("settle", 50, 90), ("acquire", 20), ("acquire", 50)],
        [0, 60, 70],
        id="settle-more-counts-from-settle-time",
    ),
    pytest.param(
        {"token_per_minute": 100},
        [("acquire", 80), ("settle", 80, 30), ("acquire", 70), ("acquire", 1)],
        [0, 0, 60],
        id="settle-fewer-frees-budget",
    ),
    pytest.param(
        {"token_per_minute": 100},
        [("acquire", 60), ("settle", 60, 60), ("acquire", 40), ("acquire", 1)],
        [0, 0, 60],
        id="settle-exact-changes-nothing",
    ),
    pytest.param(
        {"token_per_minute": 100},
        [
            ("acquire", 30),
            ("pass", 5),
            ("acquire", 30),
            ("settle", 30, 0),
            ("acquire", 70),
            ("acquire", 1),
        ],
        [0, 5, 5, 65],
        id="settle-refund-takes-from-oldest",
    ),
    pytest.param(
        {"request_per_minute": 2},
        [("acquire", 5), ("settle", 5, 10**9), ("acquire", 10**9)],
        [0, 0],
        id="settle-without-tpm-is-a-no-op",
    ),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("limits", "ops", "expected"), SCRIPTS)
def test_admission_times(
    path: str, limits: dict[str, Any], ops: list[Op], expected: list[float]
) -> None:
    fake = FakeTime()
    assert play(path, fake.throttle(**limits), fake, ops) == pytest.approx(expected, abs=1e-6)


# -- measured rates in real (faster) time, with concurrent callers ---------------------------

RATES = [
    # (limits, speed, calls, callers): speed puts the whole row in well under a second
    pytest.param({"query_per_second": 20}, 10, 50, 4, id="qps"),
    pytest.param({"request_per_minute": 30}, 300, 70, 4, id="rpm"),
    pytest.param({"query_per_second": 5, "request_per_minute": 12}, 240, 25, 3, id="qps+rpm"),
    pytest.param({"query_per_second": 0.5}, 40, 6, 2, id="qps-below-1"),
]


def run_callers(path: str, throttle: Throttle, calls: int, callers: int, tokens: int = 0) -> None:
    share = [calls // callers + (i < calls % callers) for i in range(callers)]
    if path == "sync":
        threads = [
            threading.Thread(target=lambda n=n: [throttle.acquire(tokens) for _ in range(n)])
            for n in share
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE)
        assert not any(t.is_alive() for t in threads)
        return

    async def caller(n: int) -> None:
        for _ in range(n):
            await throttle.aacquire(tokens)

    async def main() -> None:
        await asyncio.wait_for(asyncio.gather(*(caller(n) for n in share)), DEADLINE)

    asyncio.run(main())


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("limits", "speed", "calls", "callers"), RATES)
def test_measured_rate_within_limits(
    path: str, limits: dict[str, Any], speed: float, calls: int, callers: int
) -> None:
    throttle = FastTime(speed).throttle(**limits)
    rec = Recorder(throttle)
    run_callers(path, throttle, calls, callers)
    times = rec.times()
    assert len(times) == calls
    for span, limit in windows_of(limits):
        assert most_in_window(times, span) <= limit, (span, limit)
        # and so the run lasts at least the limit's minimum: call k waits for call k-limit
        assert max(times) - min(times) >= (math.ceil(calls / limit) - 1) * span - 1e-6


@pytest.mark.parametrize("path", PATHS)
def test_tpm_measured_with_settle(path: str) -> None:
    """Callers estimate 10 tokens and use 25: the window counts the real 25, not the 10."""
    throttle = FastTime(600).throttle(token_per_minute=100)
    rec = Recorder(throttle)

    if path == "sync":

        def caller() -> None:
            for _ in range(4):
                throttle.acquire(10)
                throttle.settle(10, 25)

        threads = [threading.Thread(target=caller) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE)
        assert not any(t.is_alive() for t in threads)
    else:

        async def acaller() -> None:
            for _ in range(4):
                await throttle.aacquire(10)
                throttle.settle(10, 25)

        async def main() -> None:
            await asyncio.wait_for(asyncio.gather(*(acaller() for _ in range(3))), DEADLINE)

        asyncio.run(main())

    assert len(rec.admitted) == 12
    assert sum(n for _, n, _ in rec.events) == 12 * 25
    # each admission, its own tokens included, kept the last minute within 100 tokens,
    # counting the corrections made before it
    for i, (t, _, admission) in enumerate(rec.events):
        if admission:
            assert sum(n for u, n, _ in rec.events[: i + 1] if t - MINUTE < u <= t) <= 100
    # 12 admissions of at least 10 tokens at 100 a minute cannot all fit in one minute
    assert max(rec.times()) - min(rec.times()) >= MINUTE


# -- one budget for a thread and tasks together, FIFO -----------------------------------------


def test_thread_and_tasks_share_one_budget() -> None:
    limit = 20
    throttle = FastTime(10).throttle(query_per_second=limit)
    rec = Recorder(throttle)

    async def main() -> None:
        thread = threading.Thread(target=lambda: [throttle.acquire(0) for _ in range(25)])
        thread.start()

        async def caller() -> None:
            for _ in range(13):
                await throttle.aacquire(0)

        await asyncio.wait_for(asyncio.gather(caller(), caller()), DEADLINE)
        await asyncio.to_thread(thread.join, DEADLINE)
        assert not thread.is_alive()

    asyncio.run(main())
    times = rec.times()
    assert len(times) == 51
    assert most_in_window(times, SECOND) <= limit
    # served in arrival order: neither side waits for the other to finish
    first = {who for _, _, who in rec.admitted[: 2 * limit]}
    assert first == {"thread", "task"}


@pytest.mark.parametrize("path", PATHS)
def test_fifo_no_overtaking(path: str) -> None:
    """A big request at the head is not overtaken by a small one that would fit now."""
    fake = FakeTime()
    throttle = fake.throttle(token_per_minute=100)
    rec = Recorder(throttle)
    throttle.acquire(90)
    sizes = [50, 5, 60, 5]  # queued in this order while the window is full

    if path == "async":

        async def main() -> None:
            tasks = []
            for n in sizes:
                tasks.append(asyncio.create_task(throttle.aacquire(n)))
                await asyncio.sleep(0)  # let it queue before the next one
            await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)

        asyncio.run(main())
    else:
        release = threading.Event()
        real_sleep = fake.sleep

        def gated_sleep(seconds: float) -> None:  # the head waits until all have queued
            release.wait(DEADLINE)
            real_sleep(seconds)

        throttle._sleep = gated_sleep
        threads = []
        for n in sizes:
            threads.append(threading.Thread(target=throttle.acquire, args=(n,)))
            threads[-1].start()
            deadline = time.monotonic() + DEADLINE
            while len(throttle._queue) < len(threads) and time.monotonic() < deadline:
                time.sleep(0.001)
        release.set()
        for t in threads:
            t.join(DEADLINE)
        assert not any(t.is_alive() for t in threads)

    assert [n for _, n, _ in rec.admitted] == [90, *sizes]
    start = rec.admitted[0][0]
    assert [t - start for t in rec.times()] == pytest.approx([0, 60, 60, 120, 120])


# -- the event loop is never blocked -----------------------------------------------------------


@pytest.mark.parametrize("head", ["task", "thread"])
def test_waiting_task_never_blocks_its_loop(head: str) -> None:
    """While a task waits (behind another task, or behind a thread that sleeps at the head of
    the queue), other coroutines of its loop keep running."""
    throttle = FastTime(5).throttle(query_per_second=1)  # each wait: 1 s of throttle, 0.2 s real
    throttle.acquire(0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    thread = None
    if head == "thread":
        thread = threading.Thread(target=throttle.acquire, args=(0,))
        thread.start()
        deadline = time.monotonic() + DEADLINE
        while not throttle._queue and time.monotonic() < deadline:
            time.sleep(0.001)  # until the thread is the sleeping head of the queue

    async def main() -> None:
        tick = asyncio.create_task(ticker())
        await asyncio.wait_for(throttle.aacquire(0), DEADLINE)
        tick.cancel()

    asyncio.run(main())
    if thread is not None:
        thread.join(DEADLINE)
        assert not thread.is_alive()
    # 0.2 s (0.4 s behind the thread) of waiting; ticks every 5 ms would give 40+: ask for 5
    assert ticks >= 5


# -- leaving the queue -------------------------------------------------------------------------


def test_cancelled_task_counts_nothing_and_passes_its_turn() -> None:
    fake = FakeTime()
    throttle = fake.throttle(request_per_minute=1)
    rec = Recorder(throttle)
    sleeping = asyncio.Event()

    async def first_sleep_hangs(seconds: float) -> None:
        throttle._asleep = fake.asleep  # the next head sleeps on the fake clock
        sleeping.set()
        await asyncio.Event().wait()  # until cancelled

    throttle._asleep = first_sleep_hangs

    async def main() -> None:
        await throttle.aacquire(0)
        head = asyncio.create_task(throttle.aacquire(0))
        await sleeping.wait()  # the head is asleep; queue one more behind it
        nxt = asyncio.create_task(throttle.aacquire(0))
        await asyncio.sleep(0)
        assert len(throttle._queue) == 2
        head.cancel()
        with pytest.raises(asyncio.CancelledError):
            await head
        await asyncio.wait_for(nxt, DEADLINE)

    start = fake.now
    asyncio.run(main())
    assert [t - start for t in rec.times()] == pytest.approx([0, MINUTE])  # nxt took the slot
    assert not throttle._queue


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt, SystemExit and the like."""


def test_interrupted_thread_leaves_the_queue() -> None:
    fake = FakeTime()
    throttle = fake.throttle(request_per_minute=1)
    throttle.acquire(0)

    def interrupted(seconds: float) -> None:
        raise Interrupt

    throttle._sleep = interrupted
    with pytest.raises(Interrupt):
        throttle.acquire(0)
    assert not throttle._queue
    throttle._sleep = fake.sleep
    start = fake.now
    throttle.acquire(0)  # the slot was not spent: this one waits for the first to expire
    assert fake.now - start == pytest.approx(MINUTE)


def test_a_waiter_whose_loop_closed_is_skipped() -> None:
    """A task whose loop is gone can never be woken: the head is passed over it."""
    throttle = Throttle(request_per_minute=1)
    loop = asyncio.new_event_loop()
    dead = _TaskWaiter(loop)
    loop.close()
    alive = _ThreadWaiter()
    throttle._queue.extend([dead, alive])
    with throttle._lock:
        throttle._wake_head()
    assert list(throttle._queue) == [alive]
    assert alive.turn.is_set()


# -- no limits; validation ---------------------------------------------------------------------


def _never() -> float:
    raise AssertionError("an inactive throttle must not read the clock")


@pytest.mark.parametrize("path", PATHS)
def test_inactive_does_nothing(path: str) -> None:
    throttle = Throttle(clock=_never)
    assert not throttle.active
    if path == "sync":
        throttle.acquire(10**9)
    else:
        asyncio.run(throttle.aacquire(10**9))
    throttle.settle(1, 10**9)


VALID = [
    pytest.param({"query_per_second": 0.5}, (0.5, None, None), id="qps-fraction"),
    pytest.param({"query_per_second": 3}, (3.0, None, None), id="qps-int"),
    pytest.param({"request_per_minute": 60.0}, (None, 60, None), id="rpm-whole-float"),
    pytest.param({"token_per_minute": 300_000}, (None, None, 300_000), id="tpm"),
    pytest.param(
        {"query_per_second": 1, "request_per_minute": 2, "token_per_minute": 3},
        (1.0, 2, 3),
        id="all",
    ),
]


@pytest.mark.parametrize(("limits", "expected"), VALID)
def test_valid_limits(limits: dict[str, Any], expected: tuple[Any, ...]) -> None:
    throttle = Throttle(**limits)
    assert throttle.active
    assert (
        throttle.query_per_second,
        throttle.request_per_minute,
        throttle.token_per_minute,
    ) == expected
    assert repr(throttle).startswith("Throttle(query_per_second=")


INVALID = [
    pytest.param("query_per_second", 0, "a positive number", id="qps-zero"),
    pytest.param("query_per_second", -1.5, "a positive number", id="qps-negative"),
    pytest.param("query_per_second", "5", "a positive number", id="qps-string"),
    pytest.param("query_per_second", True, "a positive number", id="qps-bool"),
    pytest.param("query_per_second", math.nan, "a positive number", id="qps-nan"),
    pytest.param("query_per_second", math.inf, "a positive number", id="qps-inf"),
    pytest.param("request_per_minute", 0, "a positive whole number", id="rpm-zero"),
    pytest.param("request_per_minute", -60, "a positive whole number", id="rpm-negative"),
    pytest.param("request_per_minute", 1.5, "a positive whole number", id="rpm-fraction"),
    pytest.param("request_per_minute", "60", "a positive whole number", id="rpm-string"),
    pytest.param("token_per_minute", 0, "a positive whole number", id="tpm-zero"),
    pytest.param("token_per_minute", [100], "a positive whole number", id="tpm-list"),
    pytest.param("token_per_minute", False, "a positive whole number", id="tpm-bool"),
]


@pytest.mark.parametrize(("option", "value", "rule"), INVALID)
def test_invalid_limit_names_option_and_rule(option: str, value: object, rule: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        Throttle(**{option: value})
    assert caught.value.field == option
    assert rule in caught.value.rule
    assert str(caught.value).startswith(f"{option}: must be {rule}")


def test_test_helpers() -> None:
    assert most_in_window([0, 0.5, 0.99, 1.0, 1.5], 1.0) == 3
    assert most_in_window([], 1.0) == 0
    assert windows_of({"query_per_second": 0.25, "request_per_minute": 7}) == [(4.0, 1), (60.0, 7)]
