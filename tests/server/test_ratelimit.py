"""Rate limits per key: QPS (18), RPM (336501), TPM (336502), Baidu's headers, the admin
route; sliding windows checked with a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from qianfan_chat.server.ratelimit import RateLimiter, RateLimits

from .conftest import Api, user

HI = {"messages": user("hi")}
QPS = {"error_code": 18, "error_msg": "Open api qps request limit reached"}
RPM = {"error_code": 336501, "error_msg": "Rate limit reached for RPM"}
TPM = {"error_code": 336502, "error_msg": "Rate limit reached for TPM"}

# (id, limits, requests allowed before the error, error body)
LIMITS: list[tuple[str, dict[str, int], int, dict[str, Any]]] = [
    ("qps", {"qps": 2}, 2, QPS),
    ("rpm", {"rpm": 3}, 3, RPM),
    ("tpm", {"tpm": 28}, 2, TPM),  # "hi" (1 token) + the greeting reply (13) = 14 a call.
    ("qps-before-rpm", {"qps": 1, "rpm": 1}, 1, QPS),
]


@pytest.mark.parametrize(
    ("limits", "allowed", "error"), [r[1:] for r in LIMITS], ids=[r[0] for r in LIMITS]
)
def test_limit_codes(api: Api, limits: dict[str, int], allowed: int, error: dict[str, Any]) -> None:
    api.server.set_rate_limits(**limits)
    for _ in range(allowed):
        assert api.chat(HI).json()["result"]
    assert api.chat(HI).json() == error
    other = api.server.issue_token("another-key")  # Limits are per key.
    assert api.chat(HI, token=other).json()["result"]


def test_headers_count_down(api: Api) -> None:
    api.server.set_rate_limits(rpm=5, tpm=1000)
    seen = []
    for _ in range(3):
        response = api.chat(HI)
        usage = response.json()["usage"]["total_tokens"]
        seen.append(
            (
                response.headers["x-ratelimit-limit-requests"],
                response.headers["x-ratelimit-remaining-requests"],
                int(response.headers["x-ratelimit-remaining-tokens"]),
            )
        )
    assert [s[:2] for s in seen] == [("5", "4"), ("5", "3"), ("5", "2")]
    assert seen[0][2] == 1000 - usage
    assert seen[0][2] > seen[1][2] > seen[2][2]


def test_rejected_requests_are_not_counted(api: Api) -> None:
    api.server.set_rate_limits(rpm=1)
    assert api.chat({"messages": []}).json()["error_code"] == 336003  # Fails before counting.
    assert api.chat(HI).json()["result"]
    assert api.chat(HI).json() == RPM
    assert api.chat(HI).json() == RPM


def test_tpm_counts_the_prompt_before_answering(api: Api) -> None:
    api.server.set_rate_limits(tpm=10)
    assert api.chat({"messages": user("字" * 11)}).json() == TPM
    assert api.chat({"messages": user("字" * 5)}).json()["result"]


def test_admin_rate_limits_route(api: Api) -> None:
    assert api.admin("GET", "rate_limits").json() == {"qps": None, "rpm": None, "tpm": None}
    assert api.admin("POST", "rate_limits", {"rpm": 1}).json()["rpm"] == 1
    assert api.admin("POST", "rate_limits", {"tpm": 500}).json() == {
        "qps": None,
        "rpm": 1,
        "tpm": 500,
    }
    assert api.chat(HI).json()["result"]
    assert api.chat(HI).json() == RPM
    assert api.admin("DELETE", "rate_limits").json()["rpm"] is None
    assert api.chat(HI).json()["result"]
    for bad in [{"rpm": -1}, {"rpm": "10"}, {"rps": 1}, [1]]:
        assert api.admin("POST", "rate_limits", bad).status_code == 400


def test_limits_from_config_and_reset(serve: Any) -> None:
    limited = serve(rpm=1)
    assert limited.chat(HI).json()["result"]
    assert limited.chat(HI).json() == RPM
    limited.server.reset()  # Usage forgotten, the configured limit kept.
    assert limited.chat(HI).json()["result"]
    assert limited.chat(HI).json() == RPM


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("limits", "first_code", "wait", "code_after"),
    [
        (RateLimits(qps=2), 18, 1.0, None),
        (RateLimits(qps=2), 18, 0.5, 18),
        (RateLimits(rpm=2), 336501, 60.0, None),
        (RateLimits(rpm=2), 336501, 59.0, 336501),
    ],
    ids=["qps-window-slides", "qps-same-second", "rpm-window-slides", "rpm-same-minute"],
)
def test_sliding_windows(
    limits: RateLimits, first_code: int, wait: float, code_after: int | None
) -> None:
    clock = Clock()
    limiter = RateLimiter(limits, clock=clock)
    assert limiter.admit("k", 1) is None
    clock.now += 0.001
    assert limiter.admit("k", 1) is None
    assert limiter.admit("k", 1) == first_code
    clock.now += wait
    assert limiter.admit("k", 1) == code_after


def test_tpm_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimits(tpm=100), clock=clock)
    assert limiter.admit("k", 60) is None
    limiter.add_tokens("k", 30)
    assert limiter.admit("k", 20) == 336502
    clock.now += 60
    assert limiter.admit("k", 100) is None
    assert limiter.headers("k")[3] == (b"X-Ratelimit-Remaining-Tokens", b"0")
