"""One rate-limit budget shared by processes through a real Redis (``_budget_redis``)."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from qianfan_chat import ChatCompletion
from qianfan_chat._budget_redis import RedisBudget, budget_factory, connect
from qianfan_chat._throttle import Throttle
from qianfan_chat.server import LocalServer

from . import workers
from .workers import most_in_window


def test_request_window(redis_url: str) -> None:
    budget = RedisBudget(connect(redis_url), "w", 5, None, None)
    assert [budget.take(0, 0) for _ in range(3)] == [0.0] * 3  # 2 slots of catch-up
    wait = budget.take(0, 0)  # then paced: one every 1.04 s / 5
    assert 0.15 < wait <= 0.21
    time.sleep(wait)
    assert budget.take(0, 0) == 0.0


def test_token_window_take_and_correct(redis_url: str) -> None:
    budget = RedisBudget(connect(redis_url), "t", None, None, 100)
    assert budget.take(0, 60) == 0.0
    assert 59 < budget.take(0, 50) <= 61.2  # 110 > 100: wait for the 60 to expire
    budget.correct(0, -20)  # the reply used 40, not 60
    assert budget.take(0, 50) == 0.0  # 40 + 50 <= 100
    budget.correct(0, 15)
    assert budget.take(0, 1) > 0  # 40 + 50 + 15 + 1 > 100
    assert budget.take(0, 500) > 0  # oversize: waits for an empty window, never deadlocks


def test_a_pause_is_shared(redis_url: str) -> None:
    client = connect(redis_url)
    one, two = RedisBudget(client, "p", 100, None, None), RedisBudget(client, "p", 100, None, None)
    assert one.take(0, 0, pause=0.5) == pytest.approx(0.5, abs=0.05)
    assert two.take(0, 0) == pytest.approx(0.5, abs=0.1)  # the other process waits too


def test_processes_stay_within_one_limit_together(redis_url: str) -> None:
    qps, seconds, procs = 10, 2.0, 3
    start = time.time() + 4.0  # every process started before the first acquire
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(procs, mp_context=ctx) as pool:
        futures = [
            pool.submit(workers.acquire_for, redis_url, "procs", qps, seconds, start)
            for _ in range(procs)
        ]
        stamps = [t for f in futures for t in f.result(timeout=30)]
    # Stamped after each admission, so a few ms of jitter: the budget's margin covers it.
    assert most_in_window(stamps, 1.0) <= qps
    # Together they use the whole budget (not N times less): 2 s of 10 a second.
    assert len(stamps) >= qps * seconds - 1


def test_clients_in_processes_share_the_account_limit(redis_url: str, server: LocalServer) -> None:
    server.set_rate_limits(qps=5)
    options = {
        "base_url": server.base_url,
        "ak": "test-ak",
        "sk": "test-sk",
        "retry_count": 0,
        "query_per_second": 5,
        "rate_limit_redis_url": redis_url,
    }
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        futures = [pool.submit(workers.chat_calls, options, 8) for _ in range(2)]
        results = [r for f in futures for r in f.result(timeout=60)]
    assert [code for _, code in results if code is not None] == []  # no refusal at all
    assert len(results) == 16


def test_a_client_with_a_redis_url_keeps_its_budget_there(
    redis_url: str, server: LocalServer
) -> None:
    chat = ChatCompletion(
        base_url=server.base_url,
        ak="secret-ak-123",
        sk="secret-sk-456",
        request_per_minute=10,
        rate_limit_redis_url=redis_url,
    )
    assert chat._budgets is not None
    assert chat._budgets.shared
    chat.do([{"role": "user", "content": "hi"}])
    keys = connect(redis_url).keys("qianfan:rl:*")
    assert keys
    assert not any(b"secret" in k for k in keys)  # a digest names the budget


@pytest.mark.parametrize("where", ["environment", "get_config"])
def test_the_settings_name_the_redis(
    redis_url: str, server: LocalServer, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """``QIANFAN_RATE_LIMIT_REDIS_URL`` is read as every setting is: set in code first, then
    the environment (then ``.env``)."""
    import qianfan_chat

    monkeypatch.delenv("QIANFAN_RATE_LIMIT_REDIS_URL", raising=False)
    if where == "environment":
        monkeypatch.setenv("QIANFAN_RATE_LIMIT_REDIS_URL", redis_url)
    else:
        qianfan_chat.get_config().RATE_LIMIT_REDIS_URL = redis_url
    try:
        chat = ChatCompletion(base_url=server.base_url, ak="k", sk="s")
    finally:
        qianfan_chat.get_config().RATE_LIMIT_REDIS_URL = None
    assert chat._budgets is not None
    assert chat._budgets.shared


def test_throttle_over_redis(redis_url: str) -> None:
    throttle = Throttle(query_per_second=20, budget=budget_factory(connect(redis_url), "th"))
    started = time.monotonic()
    for _ in range(25):
        throttle.acquire(0)
    assert time.monotonic() - started >= 0.2  # the 21st waited for the window to slide
