"""Errors, retries, token refresh, timeouts and stream interruption, driven by the local
server's fault injection over real loopback HTTP; each row on the sync and the async path."""

from __future__ import annotations

from typing import Any

import pytest

from qianfan_chat import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ChatCompletion,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from qianfan_chat.server import LocalServer

from .conftest import Caller, chat_requests, token_requests, user

RETRYABLE_FAULTS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("code-2", {"error_code": 2}, ServerError),
    ("code-18-qps", {"error_code": 18}, RateLimitError),
    ("code-336100-load", {"error_code": 336100}, ServerError),
    ("code-336501-rpm", {"error_code": 336501}, RateLimitError),
    ("code-336502-tpm", {"error_code": 336502}, RateLimitError),
    ("http-429", {"http_status": 429}, RateLimitError),
    ("http-500", {"http_status": 500}, ServerError),
    ("http-502", {"http_status": 502}, ServerError),
    ("http-503", {"http_status": 503}, ServerError),
    ("dropped-connection", {"drop": True}, APIConnectionError),
]


@pytest.mark.parametrize(
    ("fault", "error"), [pytest.param(f, e, id=i) for i, f, e in RETRYABLE_FAULTS]
)
async def test_retryable_fault_is_retried(
    caller: Caller,
    client: ChatCompletion,
    server: LocalServer,
    fault: dict[str, Any],
    error: type[Exception],
) -> None:
    server.set_faults([{**fault, "times": 1}])
    resp = await caller.do(client, user("hi"))
    assert resp.statistic["attempts"] == 2
    assert len(chat_requests(server)) == 2

    server.reset()
    server.set_faults([{**fault, "times": 1}])
    with pytest.raises(error) as info:
        await caller.do(client, user("hi"), retry_count=0)
    if isinstance(info.value, APIError):
        assert info.value.error_code is not None
        assert info.value.error_msg
        assert info.value.request_id
    assert len(chat_requests(server)) == 1


@pytest.mark.parametrize(
    ("code", "error"),
    [
        pytest.param(1, ServerError, id="1-unknown"),
        pytest.param(3, NotFoundError, id="3-wrong-endpoint"),
        pytest.param(6, PermissionDeniedError, id="6-no-permission"),
        pytest.param(15, PermissionDeniedError, id="15-no-app"),
        pytest.param(17, QuotaExceededError, id="17-daily-limit"),
        pytest.param(19, QuotaExceededError, id="19-quota"),
        pytest.param(336003, BadRequestError, id="336003-invalid"),
        pytest.param(336004, PermissionDeniedError, id="336004-model"),
        pytest.param(336104, BadRequestError, id="336104-system"),
    ],
)
async def test_non_retryable_codes_raise_typed_errors_once(
    caller: Caller, client: ChatCompletion, server: LocalServer, code: int, error: type[APIError]
) -> None:
    server.set_faults([{"error_code": code}])
    with pytest.raises(error) as info:
        await caller.do(client, user("hi"), retry_count=3)
    assert info.value.error_code == code
    assert info.value.status_code == 200
    assert info.value.request_id
    assert str(code) in str(info.value)
    assert len(chat_requests(server)) == 1


async def test_retries_are_bounded(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    server.set_faults([{"error_code": 336100}])
    with pytest.raises(ServerError):
        await caller.do(client, user("hi"), retry_count=3)
    assert len(chat_requests(server)) == 4  # the first attempt and three retries


async def test_retry_after_and_backoff_still_succeed(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    server.set_faults([{"http_status": 429, "retry_after": 0.05, "times": 2}])
    resp = await caller.do(client, user("hi"), retry_count=2, backoff_factor=0.01)
    assert resp.statistic["attempts"] == 3


async def test_oauth_token_fetched_once_and_reused(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    for _ in range(3):
        await caller.do(client, user("hi"))
    assert len(token_requests(server)) == 1
    tokens = {r["query"]["access_token"] for r in chat_requests(server)}
    assert len(tokens) == 1


async def test_expired_token_is_refreshed_once_and_resent(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    await caller.do(client, user("hi"))
    server.set_faults([{"expire_token": True, "times": 1}])
    resp = await caller.do(client, user("hi"))
    assert resp["result"]
    assert len(token_requests(server)) == 2
    first, rejected, resent = chat_requests(server)
    assert first["query"]["access_token"] == rejected["query"]["access_token"]
    assert resent["query"]["access_token"] != rejected["query"]["access_token"]


async def test_token_rejected_twice_raises(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    server.set_faults([{"error_code": 110}])
    with pytest.raises(AuthenticationError) as info:
        await caller.do(client, user("hi"), retry_count=5)
    assert info.value.error_code == 110
    assert len(chat_requests(server)) == 2  # one refresh and one resend, no more
    assert len(token_requests(server)) == 2


async def test_timeout_on_a_slow_reply(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    await caller.do(client, user("warm up"))  # the token fetch is not what we time out
    server.set_faults([{"latency": 1.0}])
    with pytest.raises(APITimeoutError):
        await caller.do(client, user("hi"), request_timeout=0.2, retry_count=0)


async def test_timeout_is_retried(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    await caller.do(client, user("warm up"))
    server.set_faults([{"latency": 1.0, "times": 1}])
    resp = await caller.do(client, user("hi"), request_timeout=0.3, retry_count=1)
    assert resp.statistic["attempts"] == 2


@pytest.mark.parametrize("abort", [False, True], ids=["clean-end", "connection-reset"])
async def test_stream_cut_before_is_end_raises(
    caller: Caller, client: ChatCompletion, server: LocalServer, abort: bool
) -> None:
    server.add_rule(contains="故事", text="第一句。第二句。第三句。第四句。")
    server.set_faults([{"stream_cut": 2, "abort": abort}])
    with pytest.raises(StreamInterruptedError) as info:
        await caller.stream(client, user("故事"), retry_count=3)
    assert info.value.received == "第一句。第二句。"
    assert len(chat_requests(server)) == 1  # never retried once a chunk has been yielded


async def test_error_before_stream_is_typed_and_retried(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    server.set_faults([{"error_code": 18, "times": 1}])
    chunks = await caller.stream(client, user("你好"))
    assert chunks[-1]["is_end"] is True
    server.reset()
    server.set_faults([{"error_code": 336003}])
    with pytest.raises(BadRequestError):
        await caller.stream(client, user("你好"))


async def test_connection_refused(caller: Caller) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ChatCompletion(base_url=f"http://127.0.0.1:{port}", access_token="t") as chat:
        with pytest.raises(APIConnectionError):
            await caller.do(chat, user("hi"), retry_count=1)


async def test_timeout_bounds_each_read_not_the_whole_stream(caller: Caller) -> None:
    # 6 events 0.3 s apart: the whole stream takes ~1.5 s, longer than the 0.8 s timeout,
    # yet every gap is shorter than it, so the stream completes.
    with LocalServer(stream_interval=0.3, stream_chunk_chars=2) as slow:
        slow.add_rule(contains="慢", text="一二三四五六七八九十。")
        with ChatCompletion(base_url=slow.base_url, access_token=slow.issue_token()) as chat:
            chunks = await caller.stream(chat, user("慢"), request_timeout=0.8, retry_count=0)
    assert len(chunks) >= 5
    assert chunks[-1]["is_end"] is True


async def test_a_stream_that_goes_silent_times_out(caller: Caller) -> None:
    with LocalServer(stream_interval=1.0, stream_chunk_chars=2) as slow:
        slow.add_rule(contains="慢", text="一二三四五六七八九十。")
        with ChatCompletion(base_url=slow.base_url, access_token=slow.issue_token()) as chat:
            with pytest.raises(APITimeoutError):
                await caller.stream(chat, user("慢"), request_timeout=0.3, retry_count=2)
        # The first chunk arrives at once; the silence after it is not retried.
        assert len([r for r in slow.requests() if "/chat/" in r["path"]]) == 1
