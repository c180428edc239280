"""Faults and rate limits on v2: string and mapped v1 error codes, HTTP statuses with
Retry-After, dropped connections, cut streams, latency, expiring minted keys, the route and
model filters across v1, v2 and BCE-BEARER, and the per-key limiter with its headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qianfan_chat._protocol.codes import UNKNOWN_MODEL_MESSAGE, V2_ERRORS
from qianfan_chat._protocol.signing import sign_request_headers
from qianfan_chat.server import Fault

from .conftest import IAM_AK, IAM_SK, V2, V2_MODEL, Api, sse_events, user

HI = {"model": V2_MODEL, "messages": user("hi")}

# (id, fault, status, code, message)
ERROR_CODES: list[tuple[str, dict[str, Any], int, str, str]] = [
    (
        "v2-rpm",
        {"error_code": "rpm_rate_limit_exceeded"},
        429,
        "rpm_rate_limit_exceeded",
        "Rate limit reached for RPM",
    ),
    ("v2-offline", {"error_code": "model_offline"}, 403, "model_offline", "The model is offline"),
    (
        "v2-key",
        {"error_code": "invalid_iam_token"},
        401,
        "invalid_iam_token",
        "IAM Certification failed",
    ),
    ("v2-model", {"error_code": "invalid_model"}, 401, "invalid_model", UNKNOWN_MODEL_MESSAGE),
    (
        "v2-custom-text",
        {"error_code": "internal_error", "error_msg": "boom"},
        500,
        "internal_error",
        "boom",
    ),
    ("v1-qps", {"error_code": 18}, 429, "user_rate_limit_exceeded", "Rate limit reached for user"),
    (
        "v1-rpm",
        {"error_code": 336501},
        429,
        "rpm_rate_limit_exceeded",
        "Rate limit reached for RPM",
    ),
    ("v1-token-expired", {"error_code": 111}, 401, "invalid_iam_token", "IAM Certification failed"),
    ("v1-overload", {"error_code": 336100}, 500, "internal_error", "Internal error"),
    ("v1-unavailable", {"error_code": 2}, 500, "internal_error", "Internal error"),
    ("v1-quota", {"error_code": 17}, 403, "account_overdue", "The account is overdue"),
    ("v1-invalid", {"error_code": 336003}, 400, "invalid_argument", "Invalid argument"),
    ("v1-no-api", {"error_code": 336005}, 401, "invalid_model", UNKNOWN_MODEL_MESSAGE),
    ("v1-unlisted", {"error_code": 999}, 500, "internal_error", "Internal error"),
]


@pytest.mark.parametrize(
    ("fault", "status", "code", "message"),
    [r[1:] for r in ERROR_CODES],
    ids=[r[0] for r in ERROR_CODES],
)
def test_error_code_fault(
    v2: V2, fault: dict[str, Any], status: int, code: str, message: str
) -> None:
    v2.server.set_faults({**fault, "times": 1})
    got_status, error = v2.error(HI)
    assert (got_status, error["code"], error["message"]) == (status, code, message)
    assert error["type"] == V2_ERRORS.get(code, (0, "invalid_request_error"))[1]
    assert v2.post(HI).status_code == 200
    log = v2.log()
    assert [(e["status"], e["error_code"], e["faults"]) for e in log] == [
        (status, code, ["error_code"]),
        (200, None, []),
    ]


def test_v2_code_on_the_v1_route(api: Api) -> None:
    api.server.set_faults({"error_code": "tpm_rate_limit_exceeded", "times": 1})
    response = api.chat({"messages": user("hi")})
    assert response.status_code == 200  # v1 answers errors with HTTP 200.
    assert response.json() == {"error_code": 336502, "error_msg": "Rate limit reached for TPM"}


# (id, fault, status, code, Retry-After)
STATUSES: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    ("500", {"http_status": 500}, 500, "internal_error", None),
    ("502", {"http_status": 502}, 502, "internal_error", None),
    ("503", {"http_status": 503}, 503, "internal_error", None),
    ("504", {"http_status": 504}, 504, "internal_error", None),
    ("429", {"http_status": 429}, 429, "rpm_rate_limit_exceeded", None),
    (
        "429-retry-after",
        {"http_status": 429, "retry_after": 2},
        429,
        "rpm_rate_limit_exceeded",
        "2",
    ),
    (
        "503-retry-after-float",
        {"http_status": 503, "retry_after": 0.5},
        503,
        "internal_error",
        "0.5",
    ),
    ("401", {"http_status": 401}, 401, "invalid_iam_token", None),
    ("403", {"http_status": 403}, 403, "account_overdue", None),
    ("400", {"http_status": 400}, 400, "invalid_argument", None),
    (
        "503-v2-code",
        {"http_status": 503, "error_code": "dispatch_internal_error"},
        503,
        "dispatch_internal_error",
        None,
    ),
    ("503-v1-code", {"http_status": 503, "error_code": 336100}, 503, "internal_error", None),
]


@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [r[1:] for r in STATUSES],
    ids=[r[0] for r in STATUSES],
)
def test_http_status_fault(
    v2: V2, fault: dict[str, Any], status: int, code: str, retry_after: str | None
) -> None:
    v2.server.set_faults({**fault, "times": 1})
    response = v2.post(HI, headers=v2.headers(**{"X-Request-Id": "rid-1"}))
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.headers.get("retry-after") == retry_after
    assert response.headers["x-request-id"] == "rid-1"
    assert v2.post(HI).status_code == 200


def test_drop_sync(v2: V2) -> None:
    v2.server.set_faults({"drop": True, "times": 1, "route": "v2"})
    with pytest.raises(httpx.TransportError):
        v2.post(HI)
    assert v2.post(HI).status_code == 200
    assert (v2.log()[0]["faults"], v2.log()[0]["status"]) == (["drop"], None)


async def test_drop_async(v2: V2) -> None:
    v2.server.set_faults({"drop": True, "times": 1})
    async with httpx.AsyncClient(timeout=10) as client:
        with pytest.raises(httpx.TransportError):
            await client.post(v2.server.v2_chat_url, headers=v2.headers(), json=HI)
        ok = await client.post(v2.server.v2_chat_url, headers=v2.headers(), json=HI)
    assert ok.status_code == 200


def _raw_stream(v2: V2, body: dict[str, Any]) -> bytes:
    with v2.client.stream(
        "POST", v2.server.v2_chat_url, headers=v2.headers(), json={**body, "stream": True}
    ) as response:
        assert response.status_code == 200
        return response.read()


# (id, after, chunks expected)
CUTS: list[tuple[str, int, int | None]] = [
    ("after-0", 0, 0),
    ("after-2", 2, 2),
    ("after-everything", 100, None),  # Every chunk, but no [DONE].
]


@pytest.mark.parametrize(("after", "expected"), [r[1:] for r in CUTS], ids=[r[0] for r in CUTS])
def test_stream_cut_clean(v2: V2, after: int, expected: int | None) -> None:
    whole = _raw_stream(v2, HI)
    total = len(sse_events(whole[: -len(b"data: [DONE]\n\n")]))
    v2.server.set_faults({"stream_cut": after, "times": 1})
    raw = _raw_stream(v2, HI)
    assert b"[DONE]" not in raw
    assert len(sse_events(raw)) == (total if expected is None else expected)
    assert v2.log()[-1]["faults"] == ["stream_cut"]


def test_stream_cut_abort(v2: V2) -> None:
    v2.server.set_faults({"kind": "stream_cut", "after": 1, "abort": True, "times": 1})
    with pytest.raises(httpx.TransportError):
        _raw_stream(v2, HI)
    assert _raw_stream(v2, HI).endswith(b"data: [DONE]\n\n")


def test_stream_cut_skips_plain_calls(v2: V2) -> None:
    v2.server.set_faults({"stream_cut": 1, "times": 1})
    assert v2.post(HI).status_code == 200
    assert v2.log()[-1]["faults"] == []


def test_latency_adds_up_with_another_fault(v2: V2) -> None:
    v2.server.set_faults(
        {"latency": 0.01, "times": 1}, {"error_code": "internal_error", "times": 1}
    )
    assert v2.post(HI).status_code == 500
    assert v2.log()[0]["faults"] == ["latency", "error_code"]


def test_expire_token_expires_a_minted_key(v2: V2) -> None:
    key = v2.server.issue_api_key(expires_in=300)
    v2.server.set_faults({"expire_token": True, "times": 1})
    assert v2.post(HI).status_code == 200  # A configured/open key: the fault is not eligible.
    assert v2.log()[-1]["faults"] == []
    assert v2.post(HI, key=key).status_code == 401
    assert v2.post(HI, key=key).status_code == 401  # Expired for good.
    assert [e["faults"] for e in v2.log()][1:] == [["expire_token"], []]


def _mint(v2: V2) -> httpx.Response:
    url = v2.server.url("/v1/BCE-BEARER/token")
    headers = sign_request_headers(
        access_key=IAM_AK, secret_key=IAM_SK, method="GET", url=url, headers={}
    )
    return v2.client.get(url, headers=headers)


# (id, route filter, fires on v1 chat, v2 chat, BCE-BEARER, OAuth)
ROUTES: list[tuple[str, str, bool, bool, bool, bool]] = [
    ("chat", "chat", True, True, False, False),
    ("v1", "v1", True, False, False, False),
    ("v2", "v2", False, True, False, False),
    ("iam", "iam", False, False, True, False),
    ("oauth", "oauth", False, False, False, True),
    ("any", "any", True, True, True, True),
]


@pytest.mark.parametrize(
    ("route", "on_v1", "on_v2", "on_iam", "on_oauth"),
    [r[1:] for r in ROUTES],
    ids=[r[0] for r in ROUTES],
)
def test_route_filter(
    v2: V2, api: Api, route: str, on_v1: bool, on_v2: bool, on_iam: bool, on_oauth: bool
) -> None:
    v2.server.set_faults({"http_status": 503, "route": route})
    oauth = api.client.post(
        api.server.url("/oauth/2.0/token"),
        params={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
    )
    fired = [
        api.chat({"messages": user("hi")}).status_code == 503,
        v2.post(HI).status_code == 503,
        _mint(v2).status_code == 503,
        oauth.status_code == 503,
    ]
    assert fired == [on_v1, on_v2, on_iam, on_oauth]


def test_model_filter_on_v2(v2: V2) -> None:
    v2.server.set_faults({"error_code": "model_offline", "model": "deepseek-v3"})
    assert v2.post(HI).status_code == 200
    assert v2.post({**HI, "model": "deepseek-v3"}).status_code == 403


# (id, fault, status, BCE code, Retry-After)
IAM_FAULTS: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    ("500", {"http_status": 500}, 500, "InternalError", None),
    ("503", {"http_status": 503, "retry_after": 1}, 503, "ServiceUnavailable", "1"),
    ("403", {"http_status": 403}, 403, "AccessDenied", None),
    ("429", {"http_status": 429}, 429, "RequestLimitExceeded", None),
]


@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [r[1:] for r in IAM_FAULTS],
    ids=[r[0] for r in IAM_FAULTS],
)
def test_iam_route_faults(
    v2: V2, fault: dict[str, Any], status: int, code: str, retry_after: str | None
) -> None:
    v2.server.set_faults({**fault, "route": "iam", "times": 1})
    response = _mint(v2)
    assert response.status_code == status
    assert set(response.json()) == {"requestId", "code", "message"}
    assert response.json()["code"] == response.headers["x-bce-error-code"] == code
    assert response.headers.get("retry-after") == retry_after
    assert _mint(v2).status_code == 201


def test_iam_route_drop_and_ineligible_kinds(v2: V2) -> None:
    v2.server.set_faults(
        {"error_code": "internal_error", "route": "iam"}, {"drop": True, "route": "iam", "times": 1}
    )
    with pytest.raises(httpx.TransportError):
        _mint(v2)
    assert _mint(v2).status_code == 201  # error_code faults never apply to BCE-BEARER.


@pytest.mark.parametrize(
    "fault",
    [
        {"error_code": "no_such_code"},
        {"error_code": 1.5},
        {"kind": "error_code"},
        {"drop": True, "route": "v3"},
    ],
    ids=["unknown-string", "float", "missing", "unknown-route"],
)
def test_bad_faults_are_refused(v2: V2, fault: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Fault.from_dict(fault)
    assert v2.client.post(v2.server.url("/_admin/faults"), json=fault).status_code == 400


def test_admin_adds_a_v2_fault(v2: V2) -> None:
    added = v2.client.post(
        v2.server.url("/_admin/faults"), json={"error_code": "tpm_rate_limit_exceeded", "times": 1}
    ).json()["added"]
    assert added == [{"kind": "error_code", "times": 1, "error_code": "tpm_rate_limit_exceeded"}]
    assert v2.post(HI).status_code == 429


# (id, limits, code of the refused call)
LIMITS: list[tuple[str, dict[str, int], str]] = [
    ("rpm", {"rpm": 2}, "rpm_rate_limit_exceeded"),
    ("qps", {"qps": 2}, "user_rate_limit_exceeded"),
]


@pytest.mark.parametrize(("limits", "code"), [r[1:] for r in LIMITS], ids=[r[0] for r in LIMITS])
def test_request_limits(v2: V2, limits: dict[str, int], code: str) -> None:
    v2.server.set_rate_limits(**limits)
    first, second = v2.post(HI), v2.post(HI)
    assert (first.status_code, second.status_code) == (200, 200)
    status, error = v2.error(HI)
    assert (status, error["code"], error["type"]) == (429, code, "rate_limit_exceeded")
    assert v2.post(HI, key="another-key").status_code == 200  # Limits are per bearer key.
    if "rpm" in limits:
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert second.headers["x-ratelimit-remaining-requests"] == "0"


def test_token_limit(v2: V2) -> None:
    total = v2.post(HI).json()["usage"]["total_tokens"]
    v2.server.reset()
    v2.server.set_rate_limits(tpm=total)
    first = v2.post(HI)
    assert first.headers["x-ratelimit-limit-tokens"] == str(total)
    assert first.headers["x-ratelimit-remaining-tokens"] == "0"
    status, error = v2.error(HI)
    assert (status, error["code"]) == (429, "tpm_rate_limit_exceeded")
    refused = v2.log()[-1]
    assert (refused["status"], refused["error_code"]) == (429, "tpm_rate_limit_exceeded")


def test_refused_calls_count_nothing(v2: V2) -> None:
    v2.server.set_rate_limits(rpm=1)
    v2.error({"model": V2_MODEL, "messages": []})  # Invalid: not counted.
    assert v2.post(HI).status_code == 200
    assert v2.post(HI).status_code == 429


def test_seeded_faults_are_deterministic(v2: V2) -> None:
    def run() -> list[int]:
        v2.server.reset()
        v2.server.set_faults({"error_code": "internal_error", "probability": 0.5})
        return [v2.post(HI).status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert set(first) == {200, 500}
