"""Connections: pooled, reused, closed; any thread, any event loop."""

from __future__ import annotations

import asyncio
import os
import threading

from qianfan_chat import ChatCompletion
from qianfan_chat.server import LocalServer

from .conftest import AK, SK, user


def open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


async def test_sequential_ado_calls_reuse_the_pool(server: LocalServer) -> None:
    before = open_sockets()
    async with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        for _ in range(1000):
            await chat.ado(user("hi"))
        during = open_sockets()
    after = open_sockets()
    # Sequential calls need one keep-alive connection (+ the server's end of it, in-process).
    assert during - before <= 4
    assert after <= before + 2
    connections = {r["client"] for r in server.requests() if "/chat/" in r["path"]}
    assert len(connections) <= 2


def test_a_new_event_loop_per_asyncio_run(server: LocalServer) -> None:
    chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    for _ in range(3):
        assert asyncio.run(chat.ado(user("hi")))["result"]
    chat.close()


def test_used_from_many_threads(server: LocalServer) -> None:
    chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK)
    results: list[str] = []

    def worker() -> None:
        results.append(chat.do(user("hi"))["result"])
        results.append(asyncio.run(chat.ado(user("hi")))["result"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chat.close()
    assert len(results) == 16


async def test_caller_http_client_is_used_and_not_closed(server: LocalServer) -> None:
    import httpx

    async with httpx.AsyncClient(headers={"X-Test": "mine"}) as http:
        chat = ChatCompletion(base_url=server.base_url, ak=AK, sk=SK, http_client=http)
        await chat.ado(user("hi"))
        await chat.aclose()
        assert not http.is_closed
    sent = next(r for r in server.requests() if "/chat/" in r["path"])
    assert {k.lower(): v for k, v in sent["headers"].items()}["x-test"] == "mine"


def test_breaking_out_of_a_stream_closes_it(server: LocalServer) -> None:
    server.add_rule(contains="长", text="一。" * 50)
    with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        stream = chat.do(user("长故事"), stream=True)
        for _ in stream:
            break
        stream.close()
        assert stream.closed
        # the client still works afterwards
        assert chat.do(user("hi"))["result"]
