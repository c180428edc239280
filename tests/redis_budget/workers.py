"""What each worker process runs in the shared-budget tests (importable by a spawned child),
and how the tests count what they admitted."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any


def most_in_window(times: Sequence[float], span: float) -> int:
    """The most of ``times`` that fall in any window ``span`` long."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def acquire_for(redis_url: str, name: str, qps: float, seconds: float, start: float) -> list[float]:
    """Acquire from the shared budget ``name`` until ``seconds`` after ``start`` (wall
    clock); the wall-clock times of the admissions."""
    from qianfan_chat._budget_redis import budget_factory, connect
    from qianfan_chat._throttle import Throttle

    throttle = Throttle(query_per_second=qps, budget=budget_factory(connect(redis_url), name))
    while time.time() < start:
        time.sleep(0.005)
    stamps = []
    while time.time() < start + seconds:
        throttle.acquire(0)
        stamps.append(time.time())
    return stamps


def chat_calls(options: dict[str, Any], calls: int) -> list[Any]:
    """``calls`` chat calls through a client sharing its budget in Redis: each an
    ``(admission time, error code or None)`` pair."""
    from qianfan_chat import APIError, ChatCompletion

    out: list[Any] = []
    with ChatCompletion(**options) as chat:
        for _ in range(calls):
            try:
                chat.do([{"role": "user", "content": "hi"}])
                out.append((time.time(), None))
            except APIError as exc:
                out.append((time.time(), exc.error_code))
    return out
