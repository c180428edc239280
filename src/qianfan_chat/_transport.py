"""The async engine: aiohttp under httpx's surface, and pools that die with their event loop.

httpcore's async pool costs ~3-4x aiohttp's per call (issue 10's measurements), so the default
async client is an ``httpx.AsyncClient`` whose transport is httpx-aiohttp's
``AiohttpTransport``: callers keep httpx's requests, responses, exceptions and ``http_client=``,
and never see which engine runs (as httpx-aiohttp intends).

This subclass changes two things in it, both on the boundary where aiohttp's exceptions become
httpx's:

* httpx-aiohttp 0.2 maps every ``aiohttp.ClientConnectionError`` to ``httpx.ConnectTimeout``, so
  a refused connection or a server that drops it would surface as a *timeout*; here each
  aiohttp error becomes the httpx error httpcore raises for the same event (:func:`_translate`);
* the body is read with ``iter_any`` (what has arrived, no re-chunking) through that same
  translation, so a cut stream is a ``ReadError``, a silent one a ``ReadTimeout``.

Timeouts are httpx's: ``connect`` bounds the TCP connect, ``read`` each read, ``pool`` the wait
for a pooled connection; nothing bounds a whole exchange (aiohttp's ``total`` stays unset), so a
long stream that keeps talking is never cut.

Importing this module imports aiohttp (~100 ms): the client imports it on the first async call.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _HttpxAiohttpTransport
from multidict import CIMultiDict
from yarl import URL

from ._direct import Targets, proxy_map

if TYPE_CHECKING:
    from ._flow import Send

# aiohttp error -> the httpx error httpcore raises for the same event; first match wins, so
# subclasses come before their bases.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # SocketTimeoutError: sock_read
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS handshake
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),  # the body ended before it was complete
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.ReadError),  # reset, broken pipe, OSError
    (aiohttp.ClientError, httpx.NetworkError),
)
_TRANSLATED = (aiohttp.ClientError,)


def _translate(exc: BaseException) -> httpx.TransportError:
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__)
    return httpx.NetworkError(str(exc) or type(exc).__name__)  # pragma: no cover


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as httpx's byte stream; closing it releases the connection
    (back to the pool when the body was read to its end, else closed)."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except _TRANSLATED as exc:
            raise _translate(exc) from exc

    async def aclose(self) -> None:
        self._response.release()


def _proxy_options(proxy: httpx.Proxy | None) -> dict[str, Any]:
    """aiohttp's request options for an httpx proxy (none: no proxy)."""
    if proxy is None:
        return {}
    return {
        "proxy": str(proxy.url),
        "proxy_auth": aiohttp.BasicAuth(*proxy.auth) if proxy.auth else None,
        "proxy_headers": proxy.headers,
    }


class AiohttpTransport(_HttpxAiohttpTransport):
    """httpx-aiohttp's transport with httpcore's exception mapping (see the module docstring).
    Its constructor takes httpx's transport options (``limits``, ``verify``, ``proxy``...)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._timeouts: dict[tuple[Any, Any, Any], aiohttp.ClientTimeout] = {}

    def _timeout(self, timeout: dict[str, Any]) -> aiohttp.ClientTimeout:
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        made = self._timeouts.get(key)
        if made is None:
            if len(self._timeouts) > 64:  # per-call timeouts vary: keep the cache small
                self._timeouts.clear()
            made = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        return made

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self.client
        if not isinstance(session, aiohttp.ClientSession):
            session = self.client = self.get_client()
        try:
            content: Any = request.content
        except httpx.RequestNotRead:  # a streamed upload: aiohttp frames it itself
            content = request.stream
            request.headers.pop("transfer-encoding", None)
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers,
                data=content or None,
                allow_redirects=False,
                auto_decompress=False,  # httpx decodes Content-Encoding itself
                compress=False,
                timeout=self._timeout(request.extensions.get("timeout", {})),
                server_hostname=request.extensions.get("sni_hostname"),
                **_proxy_options(self.proxy),
            )
        except _TRANSLATED as exc:
            raise _translate(exc) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )


_HTTPX_LOG = logging.getLogger("httpx")


class DirectSender:
    """The default client's fast road: one request straight onto aiohttp, skipping httpx's
    client layer (building an ``httpx.Request``, parsing its URL again, the auth, redirect and
    cookie machinery), which cost more CPU per call than aiohttp itself (issue 10). It does
    what ``AsyncClient.send`` does for a client with no auth, no cookies, no hooks and no
    redirects to follow: the client's default headers, the request's timeouts, httpx's
    ``HTTP Request`` log line, an open ``httpx.Response`` (its body streamed), and httpx's
    exceptions. Callers' own clients never take it."""

    __slots__ = ("_headers", "_targets")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._headers = CIMultiDict(client.headers.multi_items())

        def target(url: httpx.URL) -> tuple[URL, str, AiohttpTransport]:
            # httpx's own encoding of the URL and its query, sent byte for byte as given; the
            # pool, or the proxy the environment names for this URL, as httpx picks.
            transport = client._transport_for_url(url)
            assert isinstance(transport, AiohttpTransport)
            return URL(str(url), encoded=True), str(url), transport

        self._targets = Targets(target)

    async def send(self, action: Send) -> httpx.Response:
        """The response to ``action``, open (its body streamed): the caller reads and closes
        it."""
        target, text, transport = self._targets.get(action.url, action.params)
        method, timeout = action.method, action.timeout
        session = transport.client
        if not isinstance(session, aiohttp.ClientSession):
            session = transport.client = transport.get_client()
        sent = self._headers.copy()
        sent.update(action.headers)
        try:
            reply = await session.request(
                method,
                target,
                headers=sent,
                data=action.content or None,
                allow_redirects=False,
                auto_decompress=False,  # httpx's Response decodes Content-Encoding
                compress=False,
                timeout=transport._timeout({"connect": timeout, "read": timeout, "pool": timeout}),
                **_proxy_options(transport.proxy),
            )
        except _TRANSLATED as exc:
            raise _translate(exc) from exc
        if _HTTPX_LOG.isEnabledFor(logging.INFO):
            _HTTPX_LOG.info(
                'HTTP Request: %s %s "HTTP/1.1 %d %s"', method, text, reply.status, reply.reason
            )
        return httpx.Response(
            status_code=reply.status,
            headers=reply.raw_headers,
            stream=_Body(reply),
            extensions={"http_version": b"HTTP/1.1"},
        )


def new_async_client() -> tuple[httpx.AsyncClient, DirectSender]:
    """The default async client (httpx's surface, aiohttp's engine, httpx's default limits,
    the environment's proxies as ``httpx.AsyncClient()`` mounts them) and its direct sender."""
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        pattern: None if proxy is None else AiohttpTransport(proxy=proxy)
        for pattern, proxy in proxy_map().items()
    }
    client = httpx.AsyncClient(transport=AiohttpTransport(), mounts=mounts)
    return client, DirectSender(client)


async def _closer(client: httpx.AsyncClient, forget: Callable[[], None]) -> AsyncGenerator[None]:
    try:
        yield
    finally:
        forget()
        await client.aclose()


def close_with_loop(client: httpx.AsyncClient, forget: Callable[[], None]) -> AsyncGenerator[None]:
    """Tie ``client`` to the running loop's end: it is closed (its sockets with it) when
    ``asyncio.run`` (or an ``asyncio.Runner``) shuts the loop down, not when the garbage
    collector finds it.

    The hook is the loop's own: an async generator started in a loop is registered with it,
    and ``loop.shutdown_asyncgens()``, which ``asyncio.run`` awaits before closing the loop,
    closes every one still open, running its ``finally`` while the loop still runs. Keep the
    returned generator referenced (the loop holds it weakly); ``aclose()`` it to close the
    client early.
    """
    agen = _closer(client, forget)
    step: Any = agen.__anext__()  # registers agen with the running loop (its firstiter hook)
    with contextlib.suppress(StopIteration):  # it stops at its first yield, inside the try
        step.send(None)
    return agen
