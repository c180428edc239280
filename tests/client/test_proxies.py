"""The default clients honour the environment's proxies as ``httpx.Client()`` does, on the sync
road and the async one (aiohttp's engine): ``http_proxy`` carries every call, ``no_proxy``
exempts a host. The proxy is a real forwarding proxy on loopback that relays to the local
server (and refuses any other address)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from qianfan_chat import ChatCompletion
from qianfan_chat.server import LocalServer

from .conftest import AK, SK, Caller, user

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class _Relay(socketserver.StreamRequestHandler):
    """One proxied request per connection: the absolute-form target is recorded, sent on to
    the origin in origin-form, and the origin's whole answer relayed with ``Connection:
    close``."""

    server: _Proxy

    def handle(self) -> None:
        line = self.rfile.readline()
        if not line:
            return
        method, target, _ = line.decode("latin-1").split()
        headers = []
        while (header := self.rfile.readline()) not in (b"\r\n", b""):
            headers.append(header)
        length = next(
            (int(h.split(b":", 1)[1]) for h in headers if h.lower().startswith(b"content-length")),
            0,
        )
        body = self.rfile.read(length)
        url = urlsplit(target)
        self.server.seen.append(f"{method} {url.scheme}://{url.netloc}{url.path}")
        if url.hostname != "127.0.0.1" or url.port is None:  # tests never leave loopback
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        kept = [h for h in headers if not h.lower().startswith((b"connection", b"proxy-"))]
        path = url.path + (f"?{url.query}" if url.query else "")
        with socket.create_connection((url.hostname, url.port)) as upstream:
            upstream.sendall(
                f"{method} {path} HTTP/1.1\r\n".encode()
                + b"".join(kept)
                + b"Connection: close\r\n\r\n"
                + body
            )
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        head, _, rest = answer.partition(b"\r\n\r\n")
        lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        self.wfile.write(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + rest)


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Relay)
        self.seen: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Proxy]:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with _Proxy() as relay:
        thread = threading.Thread(target=relay.serve_forever, daemon=True)
        thread.start()
        try:
            yield relay
        finally:
            relay.shutdown()
            thread.join(5)


async def test_the_environment_proxy_carries_every_call(
    server: LocalServer, proxy: _Proxy, caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        reply = await caller.do(chat, user("hi"))
        chunks = await caller.stream(chat, user("hello"))
        await chat.aclose()
    assert reply["result"]
    assert chunks
    assert chunks[-1]["is_end"]
    chat_url = f"POST {server.base_url}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"
    assert proxy.seen[0] == f"POST {server.base_url}/oauth/2.0/token"
    assert len(proxy.seen) == 3
    assert all(seen.startswith(chat_url) for seen in proxy.seen[1:]), proxy.seen


async def test_no_proxy_exempts_a_host(
    server: LocalServer, proxy: _Proxy, caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with ChatCompletion(base_url=server.base_url, ak=AK, sk=SK) as chat:
        assert (await caller.do(chat, user("hi")))["result"]
        await chat.aclose()
    assert proxy.seen == []
    assert any("/chat/" in r["path"] for r in server.requests())
