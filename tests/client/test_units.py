"""Pure pieces: retry decisions, Messages, QfResponse, redaction, model table data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qianfan_chat import (
    APIConnectionError,
    APIError,
    BadRequestError,
    Messages,
    QfResponse,
    RateLimitError,
    ServerError,
)
from qianfan_chat._logging import redact
from qianfan_chat._retry import MAX_DELAY, RetryPolicy, is_retryable, retry_after_seconds

SHARED_TABLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "v1-chat-models.json"


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        pytest.param(ServerError("x", error_code=2, status_code=200), True, id="code-2"),
        pytest.param(RateLimitError("x", error_code=18, status_code=200), True, id="code-18"),
        pytest.param(ServerError("x", error_code=336100), True, id="code-336100"),
        pytest.param(RateLimitError("x", error_code=336501), True, id="code-336501"),
        pytest.param(RateLimitError("x", error_code=336502), True, id="code-336502"),
        pytest.param(RateLimitError("x", status_code=429), True, id="http-429"),
        pytest.param(ServerError("x", status_code=503), True, id="http-503"),
        pytest.param(APIConnectionError("x"), True, id="connection"),
        pytest.param(BadRequestError("x", error_code=336003), False, id="code-336003"),
        pytest.param(APIError("x", error_code=15), False, id="code-15-no-app"),
        pytest.param(RateLimitError("x", error_code=4), False, id="code-4-cluster"),
        pytest.param(
            RateLimitError("x", error_code="rpm_rate_limit_exceeded", status_code=429),
            True,
            id="v2-rpm",
        ),
    ],
)
def test_is_retryable(error: Exception, retry: bool) -> None:
    assert is_retryable(error) is retry


def test_backoff_grows_with_bounded_jitter_and_a_cap() -> None:
    policy = RetryPolicy(retry_count=10, backoff_factor=0.5)
    for n, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
        for _ in range(20):
            assert base <= policy.delay(n) <= base * 1.25
    assert policy.delay(30) == MAX_DELAY
    assert RetryPolicy(backoff_factor=0).delay(3) == 0
    assert RetryPolicy(backoff_factor=0).delay(1, retry_after=2.0) == 2.0
    assert 4.0 <= RetryPolicy(backoff_factor=4).delay(1, retry_after=1.0) <= 5.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        (None, None),
        ("soon", None),
        ("-2", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_messages_alternate_and_carry_function_calls() -> None:
    msgs = Messages()
    msgs.append("天气?")
    call = {"name": "get_weather", "arguments": '{"city": "北京"}'}
    msgs.append(QfResponse(200, {}, {"result": "", "function_call": call}))
    msgs.append('{"temp": 20}')
    msgs.append(QfResponse(200, {}, {"result": "20 度"}))
    msgs.append("谢谢")
    assert [m["role"] for m in msgs] == ["user", "assistant", "function", "assistant", "user"]
    assert msgs[1]["function_call"] == call
    assert msgs[2]["name"] == "get_weather"
    assert isinstance(msgs, list)
    assert json.loads(json.dumps(msgs))[4] == {"role": "user", "content": "谢谢"}
    msgs.append("explicit", role="user")
    assert msgs[-1]["role"] == "user"


def test_qfresponse_reads_the_body() -> None:
    resp = QfResponse(200, {"x": "1"}, {"result": "hi", "usage": {}}, {"attempts": 1}, "rid")
    assert resp["result"] == "hi"
    assert resp.get("missing") is None
    assert dict(resp) == {"result": "hi", "usage": {}}
    assert "rid" in repr(resp)


@pytest.mark.parametrize(
    "text",
    [
        "POST http://h/chat/x?access_token=24.abc.def-123 HTTP/1.1",
        "POST http://h/oauth/2.0/token?grant_type=client_credentials&client_id=AKX&client_secret=SKX",
        "Authorization: bce-auth-v1/AKX/2024-01-01T00:00:00Z/300/host/abcdef0123",
        "Authorization: Bearer bce-v3/ALTAK-xyz/abc",
    ],
)
def test_redaction(text: str) -> None:
    clean = redact(text)
    for secret in ("24.abc.def-123", "AKX", "SKX", "abcdef0123", "ALTAK-xyz"):
        assert secret not in clean


def test_shipped_model_table_matches_shared_data() -> None:
    from importlib import resources

    shipped = json.loads(
        resources.files("qianfan_chat.data").joinpath("v1-chat-models.json").read_text("utf-8")
    )
    if not SHARED_TABLE.exists():  # pragma: no cover - only outside the project checkout
        pytest.skip("shared/ is not beside this checkout")
    assert shipped == json.loads(SHARED_TABLE.read_text("utf-8"))


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, qianfan_chat; "
        "heavy = [m for m in ('httpx', 'starlette', 'uvicorn', 'langchain_core', 'click', 'rich')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
