"""Issue 13, client side: bad input is refused before the network, a reply the client cannot
read is an ``APIError`` (never a RecursionError, TypeError, AttributeError...), memory stays
capped, a 3xx is an error, and an async token fetch never blocks its loop on a sync caller.
Each behaviour on the sync and the async path, against loopback servers only."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from qianfan_chat import ChatCompletion, QianfanError
from qianfan_chat._errors import APIError, InvalidRequestError
from qianfan_chat._protocol.sse import SSEDecoder, SSELimitError
from qianfan_chat.server import LocalServer

from .conftest import AK, SK, Caller, user
from .hostile import HostileServer, response

V1_CHAT = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"
V2_CHAT = "/v2/chat/completions"
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


def v1_client(base_url: str, **kwargs: Any) -> ChatCompletion:
    kwargs.setdefault("access_token", "tok")
    return ChatCompletion(base_url=base_url, retry_count=0, **kwargs)


def v2_client(base_url: str, **kwargs: Any) -> ChatCompletion:
    return ChatCompletion(base_url=base_url, version=2, api_key="key", retry_count=0, **kwargs)


def sse(*events: bytes) -> bytes:
    return b"".join(b"data: " + e + b"\n\n" for e in events)


# -- bad input, refused before the network (item 6, 11) --------------------------------------

BAD_INPUT = [
    pytest.param(1, {"temperature": float("nan")}, "temperature", id="v1-nan-temperature"),
    pytest.param(1, {"top_p": float("nan")}, "top_p", id="v1-nan-top-p"),
    pytest.param(1, {"penalty_score": float("nan")}, "penalty_score", id="v1-nan-penalty"),
    pytest.param(1, {"max_output_tokens": float("inf")}, "max_output_tokens", id="v1-inf-max"),
    pytest.param(1, {"user_id": "a\ud800"}, "user_id", id="v1-surrogate-user-id"),
    pytest.param(1, {"extra": [float("-inf")]}, "extra[0]", id="v1-inf-in-extra-param"),
    pytest.param(2, {"frequency_penalty": float("nan")}, "frequency_penalty", id="v2-nan-fp"),
    pytest.param(2, {"temperature": float("nan")}, "temperature", id="v2-nan-temperature"),
    pytest.param(2, {"presence_penalty": float("inf")}, "presence_penalty", id="v2-inf-pp"),
    pytest.param(2, {"request_id": "请求-1"}, "request_id", id="v2-non-ascii-request-id"),
    pytest.param(1, {"request_id": "a\nb"}, "request_id", id="v1-newline-request-id"),
]


@pytest.mark.parametrize(("version", "params", "field"), BAD_INPUT)
async def test_bad_params_are_refused_before_the_network(
    caller: Caller, hostile: HostileServer, version: int, params: dict[str, Any], field: str
) -> None:
    chat = v1_client(hostile.base_url) if version == 1 else v2_client(hostile.base_url)
    with pytest.raises(InvalidRequestError) as info:
        await caller.do(chat, user("hi"), **params)
    assert info.value.field == field
    assert hostile.requests == []


@pytest.mark.parametrize("version", [1, 2])
async def test_lone_surrogate_in_content_is_refused(
    caller: Caller, hostile: HostileServer, version: int
) -> None:
    chat = v1_client(hostile.base_url) if version == 1 else v2_client(hostile.base_url)
    with pytest.raises(InvalidRequestError) as info:
        await caller.do(chat, user("bad \ud800 text"))
    assert info.value.field == "messages[0].content"
    assert hostile.requests == []


BAD_KEYS = [
    pytest.param({"api_key": "bce-v3/ALTAK-abc\nSECRET2", "version": 2}, "api_key", id="newline"),
    pytest.param({"api_key": "bce-v3/ALTAK-abc more", "version": 2}, "api_key", id="space"),
    pytest.param({"api_key": "密钥SECRET2", "version": 2}, "api_key", id="non-ascii"),
    pytest.param({"ak": "SECRET2 ak", "sk": "sk"}, "ak", id="ak-space"),
    pytest.param({"ak": "ak", "sk": "SECRET2\t"}, "sk", id="sk-tab"),
    pytest.param({"access_token": "tok\rSECRET2"}, "access_token", id="token-cr"),
    pytest.param({"access_key": "ak", "secret_key": "SECRET2\x00"}, "secret_key", id="nul"),
    pytest.param({"api_key": "k", "version": 2, "appid": "应用SECRET2"}, "appid", id="appid"),
]


@pytest.mark.parametrize(("kwargs", "field"), BAD_KEYS)
def test_keys_that_cannot_be_sent_are_refused_without_showing_them(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        ChatCompletion(base_url="http://127.0.0.1:9", **kwargs)
    assert info.value.field == field
    assert "SECRET2" not in str(info.value)
    assert "SECRET2" not in repr(info.value)


# -- replies the client cannot read (item 6) -------------------------------------------------

V1_REPLIES = [
    pytest.param(lambda: response(DEEP), id="json-nested-100000-deep"),
    pytest.param(lambda: response(b'{"error_code": [110], "error_msg": "x"}'), id="code-a-list"),
    pytest.param(lambda: response(b'{"error_code": {"a": 1}, "error_msg": [1]}'), id="code-obj"),
    pytest.param(lambda: response(b'{"error_code": true}'), id="code-true"),
    pytest.param(lambda: response(b'{"error": {"code": [1], "message": {}}}'), id="v2-shape-list"),
    pytest.param(lambda: response(b"[1, 2]"), id="json-list"),
    pytest.param(lambda: response(b"NaN"), id="json-nan"),
    pytest.param(lambda: response(b'{"result": "ok"}', status=302), id="redirect-with-json"),
    pytest.param(lambda: response(b'{"result": "ok"}', status=308), id="permanent-redirect"),
    pytest.param(lambda: response(b"\xff\xfe garbage"), id="not-utf8"),
]


@pytest.mark.parametrize("reply", V1_REPLIES)
async def test_unreadable_v1_replies_are_api_errors(
    caller: Caller, hostile: HostileServer, reply: Any
) -> None:
    hostile.script(V1_CHAT, reply)
    with pytest.raises(APIError):
        await caller.do(v1_client(hostile.base_url), user("hi"))


async def test_a_3xx_reply_is_an_error_with_its_status(
    caller: Caller, hostile: HostileServer
) -> None:
    hostile.script(V1_CHAT, lambda: response(b'{"result": "looks fine"}', status=307))
    with pytest.raises(APIError) as info:
        await caller.do(v1_client(hostile.base_url), user("hi"))
    assert info.value.status_code == 307


OAUTH_REPLIES = [
    pytest.param(lambda: response(DEEP), id="nested-100000-deep"),
    pytest.param(lambda: response(b'{"access_token": ["t"], "expires_in": 10}'), id="token-list"),
    pytest.param(lambda: response(b'{"error": ["x"], "error_description": {}}'), id="error-list"),
    pytest.param(lambda: response(b'{"access_token": "t"}', status=302), id="redirect"),
]


@pytest.mark.parametrize("reply", OAUTH_REPLIES)
async def test_unreadable_oauth_replies_are_typed(
    caller: Caller, hostile: HostileServer, reply: Any
) -> None:
    hostile.script("/oauth/2.0/token", reply)
    hostile.script(V1_CHAT, lambda: response(b'{"result": "ok", "is_end": true}'))
    chat = ChatCompletion(base_url=hostile.base_url, ak="odd-ak", sk="odd-sk", retry_count=0)
    with pytest.raises(QianfanError):
        await caller.do(chat, user("hi"))


async def test_odd_expires_in_falls_back_to_the_default(
    caller: Caller, hostile: HostileServer
) -> None:
    hostile.script(
        "/oauth/2.0/token", lambda: response(b'{"access_token": "t", "expires_in": 1e999}')
    )
    hostile.script(V1_CHAT, lambda: response(b'{"result": "ok", "is_end": true}'))
    chat = ChatCompletion(base_url=hostile.base_url, ak="exp-ak", sk="exp-sk", retry_count=0)
    assert (await caller.do(chat, user("hi")))["result"] == "ok"


V2_STREAMS = [
    pytest.param(sse(b'{"choices": [1]}', b"[DONE]"), id="choice-a-number"),
    pytest.param(sse(b'{"choices": [{"delta": "oops"}]}', b"[DONE]"), id="delta-a-string"),
    pytest.param(sse(b'{"choices": {"a": 1}, "usage": [1]}', b"[DONE]"), id="choices-an-object"),
    pytest.param(sse(b'{"choices": [{"delta": {"content": 5}, "index": []}]}', b"[DONE]"),
                 id="content-a-number"),
]  # fmt: skip


@pytest.mark.parametrize("body", V2_STREAMS)
async def test_odd_v2_chunks_are_skipped_not_crashes(
    caller: Caller, hostile: HostileServer, body: bytes
) -> None:
    hostile.script(V2_CHAT, lambda: response(body, content_type="text/event-stream"))
    chunks = await caller.stream(v2_client(hostile.base_url), user("hi"))
    assert len(chunks) >= 1


BAD_STREAMS = [
    pytest.param(1, sse(DEEP), id="v1-event-nested-deep"),
    pytest.param(2, sse(DEEP), id="v2-event-nested-deep"),
    pytest.param(1, sse(b'{"error_code": [336003]}'), id="v1-error-code-list"),
    pytest.param(2, sse(b'{"error": {"code": {"x": 1}}}'), id="v2-error-code-object"),
    pytest.param(1, sse(b"[1]"), id="v1-event-not-object"),
]


@pytest.mark.parametrize(("version", "body"), BAD_STREAMS)
async def test_unreadable_stream_events_are_api_errors(
    caller: Caller, hostile: HostileServer, version: int, body: bytes
) -> None:
    path = V1_CHAT if version == 1 else V2_CHAT
    hostile.script(path, lambda: response(body, content_type="text/event-stream"))
    chat = v1_client(hostile.base_url) if version == 1 else v2_client(hostile.base_url)
    with pytest.raises(APIError):
        await caller.stream(chat, user("hi"))


# -- memory caps (item 7) ---------------------------------------------------------------------


def _endless_line() -> Iterator[bytes]:
    yield b"data: "
    for _ in range(40):  # 40 MiB with no newline: past the 16 Mi chars line cap
        yield b"x" * (1024 * 1024)


@pytest.mark.parametrize("version", [1, 2])
async def test_a_line_without_newline_is_capped(
    caller: Caller, hostile: HostileServer, version: int
) -> None:
    path = V1_CHAT if version == 1 else V2_CHAT
    hostile.script(path, lambda: response(_endless_line(), content_type="text/event-stream"))
    chat = v1_client(hostile.base_url) if version == 1 else v2_client(hostile.base_url)
    with pytest.raises(APIError, match="longer than"):
        await caller.stream(chat, user("hi"))


async def test_a_stream_past_the_total_cap_is_an_error(
    caller: Caller, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qianfan_chat._stream as stream_module

    monkeypatch.setattr(stream_module, "MAX_STREAM_BYTES", 100_000)
    piece = sse(json.dumps({"result": "字" * 100, "is_end": False}).encode())
    hostile.script(
        V1_CHAT, lambda: response((piece for _ in range(2000)), content_type="text/event-stream")
    )
    with pytest.raises(APIError, match="longer than 100000 bytes"):
        await caller.stream(v1_client(hostile.base_url), user("hi"))


@pytest.mark.parametrize(
    ("chunks", "limits"),
    [
        pytest.param([b"data: " + b"x" * 50], {"max_line_chars": 40}, id="line"),
        pytest.param([b"data: x\n"] * 20, {"max_event_chars": 30}, id="event"),
        pytest.param([b"dat", b"a: " + b"y" * 20, b"z" * 30], {"max_line_chars": 40}, id="split"),
    ],
)
def test_sse_decoder_bounds(chunks: list[bytes], limits: dict[str, int]) -> None:
    decoder = SSEDecoder(**limits)

    def feed_all() -> None:
        for chunk in chunks:
            decoder.feed(chunk)

    with pytest.raises(SSELimitError):
        feed_all()


def test_sse_decoder_bounds_leave_normal_events_alone() -> None:
    decoder = SSEDecoder(max_line_chars=40, max_event_chars=40)
    events = []
    for _ in range(100):
        events += decoder.feed(b'data: {"a": 1}\n\n')
    assert len(events) == 100


# -- the async path never blocks its loop on a sync caller (item 9) ---------------------------


async def test_async_token_fetch_does_not_block_the_loop_behind_a_sync_one(
    server: LocalServer,
) -> None:
    server.set_faults({"latency": 1.5, "route": "oauth", "times": 1})
    sync_chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    async_chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    started = threading.Event()

    def sync_call() -> None:
        started.set()
        sync_chat.do(user("hi"))  # holds the token slot's thread lock for ~1.5 s

    thread = threading.Thread(target=sync_call)
    thread.start()
    started.wait()
    await asyncio.sleep(0.2)  # the sync fetch is in flight, its lock held
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        for _ in range(40):
            await asyncio.sleep(0.02)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # the ticker is running before the async call starts
    reply = await async_chat.ado(user("hi"))
    await tick
    thread.join()
    assert reply["result"]
    assert max(gaps) < 0.3, max(gaps)  # blocked on the thread's lock: ~1.3 s
    sync_chat.close()
    async_chat.close()
