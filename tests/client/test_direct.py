"""The default clients' direct roads (issue 10): a default client's calls never go through
httpx's client layer (``Client.send`` / ``AsyncClient.send``), a caller's own client's always
do, and the server sees the same request either way: method, path, query, body and headers
(the client's defaults included)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qianfan_chat import ChatCompletion
from qianfan_chat.server import LocalServer

from .conftest import AK, SK, Caller, chat_requests, user


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the default client went through httpx's client layer")


async def test_a_default_client_skips_the_client_layer(
    server: LocalServer, caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(httpx.Client, "send", _refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", _refuse)
    async with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        assert (await caller.do(chat, user("hi")))["result"]
        chunks = await caller.stream(chat, user("hello"))
    assert chunks[-1]["is_end"]


async def test_a_callers_client_takes_the_client_layer(
    server: LocalServer, caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def spy(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append(request.url.path)
        return sync_send(self, request, **kwargs)

    async def aspy(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        sent.append(request.url.path)
        return await async_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", spy)
    monkeypatch.setattr(httpx.AsyncClient, "send", aspy)
    own = httpx.Client() if caller.mode == "sync" else httpx.AsyncClient()
    chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK, http_client=own)
    assert (await caller.do(chat, user("hi")))["result"]
    assert sent == ["/oauth/2.0/token", "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant"]
    if isinstance(own, httpx.AsyncClient):
        await own.aclose()
    else:
        own.close()


# What either road may spell differently and HTTP gives no meaning to.
_FREE = {"connection"}


def _seen(entry: dict[str, Any]) -> tuple[Any, ...]:
    headers = {k: v for k, v in entry["headers"].items() if k not in _FREE}
    return entry["method"], entry["path"], entry["query"], entry["body"], headers


async def test_both_roads_send_the_same_request(server: LocalServer, caller: Caller) -> None:
    default = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    own_http = httpx.Client() if caller.mode == "sync" else httpx.AsyncClient()
    own = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK, http_client=own_http)
    for chat in (default, own):
        reply = await caller.do(chat, user("同一个问题"), request_id="rid-1", temperature=0.5)
        assert reply["result"]
    first, second = chat_requests(server)
    assert _seen(first) == _seen(second)
    await default.aclose()
    if isinstance(own_http, httpx.AsyncClient):
        await own_http.aclose()
    else:
        own_http.close()
