"""The overall ``deadline`` of a call and a stream's ``event_timeout`` (issue 13, item 8).

``request_timeout`` bounds each read, so a peer that drips one byte at a time, or a stream of
``:`` comments, would hold a call forever; these two options bound it. The hostile peer here
is a few lines of raw sockets on loopback (the local server never misbehaves that slowly).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from qianfan_chat import APITimeoutError, ChatCompletion, InvalidRequestError, ServerError
from qianfan_chat.server import LocalServer

from .conftest import Caller

USER = [{"role": "user", "content": "hi"}]
BODY = b'{"id":"as-1","result":"hello","is_end":true,"usage":{"total_tokens":3}}'


def _drip_body(conn: socket.socket, stop: threading.Event) -> None:
    """HTTP headers at once, then the JSON body one byte every 0.05 s (about 3.6 s in all)."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}"
    conn.sendall(head.encode() + b"\r\n\r\n")
    for i in range(len(BODY)):
        if stop.wait(0.05):
            return
        conn.sendall(BODY[i : i + 1])


def _comments_forever(conn: socket.socket, stop: threading.Event) -> None:
    """An SSE stream that sends one real event, then only ``:`` comments, every 0.05 s."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    def chunk(data: bytes) -> None:
        conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    chunk(b'data: {"id":"as-1","result":"a","is_end":false}\n\n')
    for _ in range(400):  # 20 s at most, bounded
        if stop.wait(0.05):
            return
        chunk(b": keep-alive\n\n")


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[socket.socket, threading.Event], None]], str]]:
    """Start a one-behaviour HTTP peer on loopback; returns its base URL."""
    stop = threading.Event()
    sockets: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(behaviour: Callable[[socket.socket, threading.Event], None]) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)
        sockets.append(listener)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                sockets.append(conn)
                conn.recv(65536)  # the request (small; one read is enough here)
                with contextlib.suppress(OSError):  # the client gave up: what the test wants
                    behaviour(conn, stop)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    stop.set()
    for s in sockets:
        s.close()
    for t in threads:
        t.join(timeout=2)


async def test_deadline_cuts_a_dripping_reply(caller: Caller, hostile: Callable[..., str]) -> None:
    base = hostile(_drip_body)
    chat = ChatCompletion(access_token="t", base_url=base, retry_count=0, request_timeout=5)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="deadline"):
        await caller.do(chat, USER, deadline=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5  # the whole body takes ~3.6 s; each read alone is far under 5 s


async def test_without_a_deadline_the_drip_completes(
    caller: Caller, hostile: Callable[..., str]
) -> None:
    """The control: the same peer, no deadline, the reply arrives whole (just slowly)."""
    base = hostile(_drip_body)
    chat = ChatCompletion(access_token="t", base_url=base, retry_count=0, request_timeout=5)
    assert (await caller.do(chat, USER))["result"] == "hello"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"event_timeout": 0.3}, "event_timeout", id="event-timeout"),
        pytest.param({"deadline": 0.5}, "deadline", id="deadline"),
    ],
)
async def test_a_stream_of_comments_is_cut(
    caller: Caller, hostile: Callable[..., str], options: dict[str, float], match: str
) -> None:
    base = hostile(_comments_forever)
    chat = ChatCompletion(access_token="t", base_url=base, retry_count=0, request_timeout=5)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match=match):
        await caller.stream(chat, USER, **options)
    assert time.monotonic() - started < 5


async def test_constructor_defaults_apply(caller: Caller, hostile: Callable[..., str]) -> None:
    base = hostile(_comments_forever)
    chat = ChatCompletion(access_token="t", base_url=base, retry_count=0, event_timeout=0.3)
    with pytest.raises(APITimeoutError, match="event_timeout"):
        await caller.stream(chat, USER)


async def test_no_retry_wait_runs_past_the_deadline(caller: Caller, server: LocalServer) -> None:
    """A 503 with Retry-After 3 s and a 1 s deadline: the error at once, no 3 s wait."""
    server.add_fault(http_status=503, retry_after=3)
    chat = ChatCompletion(access_token="t", base_url=server.base_url, retry_count=3)
    started = time.monotonic()
    with pytest.raises(ServerError):
        await caller.do(chat, USER, deadline=1)
    assert time.monotonic() - started < 1


async def test_a_deadline_that_holds_changes_nothing(caller: Caller, server: LocalServer) -> None:
    chat = ChatCompletion(access_token=server.issue_token(), base_url=server.base_url)
    assert (await caller.do(chat, USER, deadline=30))["result"]
    chunks = await caller.stream(chat, USER, deadline=30, event_timeout=30)
    assert chunks[-1]["is_end"] is True


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "5"])
def test_bad_deadlines_are_rejected_before_the_network(bad: object) -> None:
    chat = ChatCompletion(access_token="t", base_url="http://127.0.0.1:9")
    with pytest.raises(InvalidRequestError, match="deadline"):
        chat.do(USER, deadline=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="event_timeout"):
        ChatCompletion(access_token="t", event_timeout=bad)  # type: ignore[arg-type]
