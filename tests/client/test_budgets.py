"""Rate-limit budgets: shared per credential and model in a process, learned from the
server's ``X-Ratelimit-*`` headers, slowed down by refusals and sped back up (``_throttle``)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from qianfan_chat import ChatCompletion, RateLimitError
from qianfan_chat._throttle import _REGISTRY, Throttle, _seconds
from qianfan_chat.server import LocalServer

from .conftest import AK, SK, Caller


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def throttle(self, **options: Any) -> Throttle:
        return Throttle(**options, learn=True, clock=self.clock, sleep=self.sleep)


BAIDU = {"X-Ratelimit-Limit-Requests": "300", "X-Ratelimit-Limit-Tokens": "300000"}
LOWER = {"x-ratelimit-limit-requests": "300", "x-ratelimit-limit-tokens": "300000"}
V2_SPLIT = {"x-ratelimit-limit-requests": "300", "x-ratelimit-limit-input-tokens": "300000"}


@pytest.mark.parametrize("headers", [BAIDU, LOWER, V2_SPLIT], ids=["baidu", "lower", "v2-split"])
def test_headers_are_learned_but_not_enforced_before_a_refusal(headers: dict[str, str]) -> None:
    fake = FakeTime()
    throttle = fake.throttle()
    throttle.observe(headers)
    assert not throttle.active  # never slower while the server refuses nothing
    assert throttle._learned == {"rpm": 300, "tpm": 300_000}
    assert throttle.limits() == {"qps": None, "rpm": None, "tpm": None}  # not in force yet


@pytest.mark.parametrize(
    ("code", "headers", "limits", "pause"),
    [
        pytest.param(336501, {}, {"qps": None, "rpm": 150, "tpm": 300_000}, 1.0, id="v1-rpm"),
        pytest.param(18, {}, {"qps": None, "rpm": 150, "tpm": 300_000}, 1.0, id="v1-qps"),
        pytest.param(336502, {}, {"qps": None, "rpm": 300, "tpm": 150_000}, 1.0, id="v1-tpm"),
        pytest.param(
            "rpm_rate_limit_exceeded",
            {"retry-after": "3"},
            {"qps": None, "rpm": 150, "tpm": 300_000},
            3.0,
            id="v2-rpm-retry-after",
        ),
        pytest.param(
            "tpm_rate_limit_exceeded",
            {"x-ratelimit-reset-tokens": "6m0s"},
            {"qps": None, "rpm": 300, "tpm": 150_000},
            60.0,  # capped
            id="v2-tpm-reset",
        ),
        pytest.param(
            None,
            {"x-ratelimit-reset-requests": "1.5s"},
            {"qps": None, "rpm": 150, "tpm": 300_000},
            1.5,
            id="http-429",
        ),
    ],
)
def test_a_refusal_halves_the_refused_kind_and_pauses(
    code: int | str | None, headers: dict[str, str], limits: dict[str, Any], pause: float
) -> None:
    fake = FakeTime()
    throttle = fake.throttle()
    throttle.observe(LOWER)
    throttle.limited(code, headers)
    assert throttle.active
    assert throttle.limits() == limits
    started = fake.now
    throttle.acquire(10)
    assert fake.now - started == pytest.approx(pause)


def test_it_speeds_back_up_and_lets_go_after_a_calm_minute() -> None:
    fake = FakeTime()
    throttle = fake.throttle()
    throttle.observe(LOWER)
    throttle.limited(336501, {})
    throttle.limited(336501, {})  # the same burst: counted once
    assert throttle.limits()["rpm"] == 150
    fake.now += 1.0
    throttle.limited(336501, {})  # a second later: halved again
    assert throttle.limits()["rpm"] == 77  # floor(300 * (0.5 + 1/60) * 0.5)
    fake.now += 15.0
    assert 77 < throttle.limits()["rpm"] < 300
    fake.now += 40.0
    assert throttle.limits()["rpm"] == 300  # whole again, 45 s after the last cut
    fake.now += 10.0
    throttle.acquire(1)
    assert not throttle.active  # learning alone made it wait; a calm minute later it stops


def test_explicit_limits_are_a_ceiling_and_stay() -> None:
    fake = FakeTime()
    throttle = fake.throttle(request_per_minute=100, token_per_minute=10**6)
    throttle.observe(LOWER)  # learned, not in force before a refusal
    assert throttle.limits() == {"qps": None, "rpm": 100, "tpm": 10**6}
    # Now the server's 300,000 TPM holds (the lower one); a limit the caller set is not halved:
    # a refusal under it is a window's edge, and the pause is the answer.
    throttle.limited(336502, {})
    assert throttle.limits() == {"qps": None, "rpm": 100, "tpm": 300_000}
    fake.now += 120
    throttle.acquire(1)
    assert throttle.limits() == {"qps": None, "rpm": 100, "tpm": 10**6}  # calm: explicit only
    throttle.observe(LOWER)
    assert throttle.limits()["rpm"] == 100
    throttle.limited(336501, {})
    assert throttle.limits()["rpm"] == 100  # set by the caller: paused, not halved
    assert not Throttle(learn=True).limits()["rpm"]  # (control: nothing set, nothing known)
    fake.now += 120
    throttle.acquire(1)
    assert throttle.active
    assert throttle.limits()["rpm"] == 100


def test_learning_off_ignores_the_server() -> None:
    throttle = Throttle()
    throttle.observe(LOWER)
    throttle.limited(336501, {"retry-after": "5"})
    assert not throttle.active


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2", 2.0), ("0.5", 0.5), ("1m30s", 90.0), ("20ms", 0.02), ("6m0s", 360.0), ("x", None)],
)
def test_reset_values(value: str, seconds: float | None) -> None:
    assert _seconds(value) == (pytest.approx(seconds) if seconds is not None else None)


def _throttle_of(chat: ChatCompletion, model: str | None = None) -> Throttle:
    spec = chat._prepare(
        [{"role": "user", "content": "hi"}],
        model=model,
        endpoint=None,
        stream=False,
        retry_count=None,
        request_timeout=None,
        backoff_factor=None,
        request_id=None,
        params={},
    )
    assert spec.throttle is not None
    return spec.throttle


def test_one_budget_per_credential_and_model_in_a_process(server: LocalServer) -> None:
    url = server.base_url
    a = ChatCompletion(base_url=url, ak=AK, sk=SK, request_per_minute=60)
    b = ChatCompletion(base_url=url, ak=AK, sk=SK)
    other_key = ChatCompletion(base_url=url, ak="other-ak", sk=SK)
    assert _throttle_of(a) is _throttle_of(b)  # same key and model: one budget
    assert _throttle_of(b).request_per_minute == 60
    assert _throttle_of(a, "ERNIE-Bot") is not _throttle_of(a)
    assert _throttle_of(other_key) is not _throttle_of(a)
    assert not any(AK in key or SK in key for key in _REGISTRY)  # digests only


def test_no_limits_and_no_learning_means_no_throttle(server: LocalServer) -> None:
    chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK, learn_rate_limits=False)
    assert chat._budgets is None


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_unthrottled_calls_never_wait_when_no_limit_is_hit(
    mode: str, server: LocalServer
) -> None:
    caller = Caller(mode)
    with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        for _ in range(5):
            await caller.do(chat, [{"role": "user", "content": "hi"}])
        throttle = _throttle_of(chat)
        assert throttle.learn
        assert not throttle.active
        assert throttle._learned["rpm"] == 300  # the server's nominal header, read


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("learn", [True, False], ids=["learning", "not-learning"])
async def test_refusals_slow_the_budget_so_retries_succeed(
    mode: str, learn: bool, server: LocalServer
) -> None:
    server.set_rate_limits(qps=3)
    caller = Caller(mode)
    results: list[Any] = []
    with ChatCompletion(
        base_url=server.base_url,
        ak=AK,
        sk=SK,
        retry_count=2,
        backoff_factor=0,
        learn_rate_limits=learn,
    ) as chat:
        for _ in range(8):
            try:
                results.append(await caller.do(chat, [{"role": "user", "content": "hi"}]))
            except RateLimitError as exc:
                results.append(exc)
    failed = [r for r in results if isinstance(r, RateLimitError)]
    if learn:
        assert failed == []  # the refusal paused the budget: the retry got through
    else:
        assert failed  # immediate retries hit the same full window


def test_a_missing_redis_extra_is_one_line(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError) as info:
        ChatCompletion(base_url=server.base_url, ak=AK, sk=SK, rate_limit_redis_url="redis://x")
    assert str(info.value) == (
        "the Redis rate-limit budget needs redis-py: pip install 'qianfan-chat[redis]'"
    )
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
