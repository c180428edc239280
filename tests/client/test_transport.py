"""The async engine (issue 10): aiohttp under httpx by default, imported on the first async
call only, pools closed with their event loop, and the same errors, retries, timeouts and
cut-stream detection on it as on httpcore (a caller's own ``httpx.AsyncClient``)."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from qianfan_chat import (
    APIConnectionError,
    APITimeoutError,
    ChatCompletion,
    StreamInterruptedError,
)
from qianfan_chat.server import LocalServer

from .conftest import AK, SK, chat_requests, user
from .test_connections import open_sockets


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_sync_do_never_imports_aiohttp(server: LocalServer) -> None:
    code = (
        "import sys, qianfan_chat; "
        f"chat = qianfan_chat.ChatCompletion(base_url={server.base_url!r}, ak='a', sk='s'); "
        "assert chat.do([{'role': 'user', 'content': 'hi'}])['result']; "
        "print(','.join(m for m in ('aiohttp', 'httpx_aiohttp') if m in sys.modules))"
    )
    assert run(code) == ""


def test_the_first_async_call_runs_on_aiohttp(server: LocalServer) -> None:
    code = (
        "import asyncio, sys, qianfan_chat; "
        f"chat = qianfan_chat.ChatCompletion(base_url={server.base_url!r}, ak='a', sk='s'); "
        "before = 'aiohttp' in sys.modules; "
        "asyncio.run(chat.ado([{'role': 'user', 'content': 'hi'}])); "
        "print(before, 'aiohttp' in sys.modules)"
    )
    assert run(code) == "False True"


async def test_the_default_async_transport_is_aiohttp(server: LocalServer) -> None:
    from qianfan_chat._transport import AiohttpTransport

    async with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        assert (await chat.ado(user("hi")))["result"]
        assert isinstance(chat._async_client()._transport, AiohttpTransport)


def test_connections_die_with_their_loop(server: LocalServer) -> None:
    # 200 asyncio.run calls on one client, no garbage collection: each loop's pool is closed
    # when asyncio.run shuts that loop down (httpcore's were left to the collector: 16 open).
    chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    asyncio.run(chat.ado(user("warm up")))  # the token, the server's threads
    gc.collect()
    before = open_sockets()
    gc.disable()
    try:
        for _ in range(200):
            assert asyncio.run(chat.ado(user("hi")))["result"]
        left = open_sockets() - before
    finally:
        gc.enable()
    chat.close()
    # (the server's ends of closed connections are counted too, until it notices)
    assert left <= 2, f"{left} sockets left open"
    assert len(chat._async_clients) <= 1


async def test_aclose_closes_this_loops_pool(server: LocalServer) -> None:
    chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    await chat.ado(user("hi"))
    client = chat._async_client()
    await chat.aclose()
    assert client.is_closed
    assert (await chat.ado(user("again")))["result"]  # a new pool for the same loop
    await chat.aclose()


# -- the resilience rows, on both engines ------------------------------------------------------


@pytest.fixture(params=["aiohttp", "httpcore"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    return request.param  # type: ignore[no-any-return]


def make(base_url: str, engine: str, **kwargs: object) -> ChatCompletion:
    http = None if engine == "aiohttp" else httpx.AsyncClient()
    return ChatCompletion(base_url=base_url, http_client=http, backoff_factor=0, **kwargs)  # type: ignore[arg-type]


async def test_a_dropped_connection_is_retried(server: LocalServer, engine: str) -> None:
    chat = make(server.base_url, engine, ak=AK, sk=SK)
    server.set_faults([{"drop": True, "times": 1}])
    assert (await chat.ado(user("hi"))).statistic["attempts"] == 2
    server.reset()
    server.set_faults([{"drop": True, "times": 1}])
    with pytest.raises(APIConnectionError) as info:
        await chat.ado(user("hi"), retry_count=0)
    assert not isinstance(info.value, APITimeoutError)
    await chat.aclose()


async def test_a_refused_connection_is_not_a_timeout(engine: str) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chat = make(f"http://127.0.0.1:{port}", engine, access_token="t")
    with pytest.raises(APIConnectionError) as info:
        await chat.ado(user("hi"), retry_count=1)
    assert not isinstance(info.value, APITimeoutError)
    await chat.aclose()


@pytest.mark.parametrize("abort", [False, True], ids=["clean-end", "connection-reset"])
async def test_a_cut_stream_raises(server: LocalServer, engine: str, abort: bool) -> None:
    chat = make(server.base_url, engine, ak=AK, sk=SK)
    server.add_rule(contains="故事", text="第一句。第二句。第三句。第四句。")
    server.set_faults([{"stream_cut": 2, "abort": abort}])
    stream = await chat.ado(user("故事"), stream=True, retry_count=3)

    async def read() -> None:
        async with stream:
            async for _ in stream:
                pass

    with pytest.raises(StreamInterruptedError) as info:
        await read()
    assert info.value.received == "第一句。第二句。"
    assert len(chat_requests(server)) == 1
    await chat.aclose()


async def test_a_slow_reply_times_out_and_a_slow_stream_does_not(engine: str) -> None:
    with LocalServer(stream_interval=0.3, stream_chunk_chars=2) as slow:
        slow.add_rule(contains="慢", text="一二三四五六七八九十。")
        chat = make(slow.base_url, engine, access_token=slow.issue_token())
        stream = await chat.ado(user("慢"), stream=True, request_timeout=0.8, retry_count=0)
        async with stream:
            chunks = [c async for c in stream]
        assert chunks[-1]["is_end"] is True  # ~1.5 s in all, every gap under the timeout
        slow.set_faults([{"latency": 1.0}])
        with pytest.raises(APITimeoutError):
            await chat.ado(user("hi"), request_timeout=0.2, retry_count=0)
        await chat.aclose()


async def test_retry_after_is_honoured(server: LocalServer, engine: str) -> None:
    chat = make(server.base_url, engine, ak=AK, sk=SK)
    server.set_faults([{"http_status": 429, "retry_after": 0.05, "times": 2}])
    resp = await chat.ado(user("hi"), retry_count=2)
    assert resp.statistic["attempts"] == 3
    await chat.aclose()


@pytest.mark.parametrize(
    ("error", "mapped"),
    [
        pytest.param("ConnectionTimeoutError", httpx.ConnectTimeout, id="connect-timeout"),
        pytest.param("SocketTimeoutError", httpx.ReadTimeout, id="read-timeout"),
        pytest.param("ServerDisconnectedError", httpx.RemoteProtocolError, id="disconnected"),
        pytest.param("ClientPayloadError", httpx.ReadError, id="payload-cut"),
        pytest.param("ClientConnectionResetError", httpx.ReadError, id="reset"),
    ],
)
def test_aiohttp_errors_become_httpcores(error: str, mapped: type[Exception]) -> None:
    import aiohttp

    from qianfan_chat._transport import _translate

    exc = getattr(aiohttp, error)()
    translated = _translate(exc)
    assert type(translated) is mapped


def test_a_refused_connect_maps_to_connect_error() -> None:
    import aiohttp

    from qianfan_chat._transport import _translate

    key = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    exc = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    assert type(_translate(exc)) is httpx.ConnectError


@pytest.mark.parametrize("name", ["aiohttp.client", "aiohttp.internal", "aiohttp"])
async def test_aiohttp_loggers_never_print_tokens(
    server: LocalServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    async with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        await chat.ado(user("hi"))
    with caplog.at_level(logging.DEBUG, logger=name):
        logging.getLogger(name).warning("GET %s", "http://h/chat?access_token=24.secret-token")
    assert "24.secret-token" not in caplog.text
    assert "access_token=***" in caplog.text
