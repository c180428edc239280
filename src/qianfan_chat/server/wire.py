"""One HTTP exchange on a Baidu route, at the raw ASGI level: read the body (bounded), answer
JSON or an SSE stream with Baidu's headers, drop the connection, and log it all. Shared by the
v1, v2 and BCE-BEARER routes, whatever their error shapes; only the request-id header differs
(v1 and BCE send ``X-Bce-Request-Id``, v2 echoes ``X-Request-Id``). Routing and faults are
:mod:`.routing`'s.

Raw ASGI rather than Starlette request/response objects: the hot path then does no extra
copies, and the faults need control below what a response object offers (abort mid-stream,
reply before the body is read).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import string
import time
import uuid
from collections.abc import Callable, Iterable
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from .._protocol.content import may_be_unsafe, unsafe_value
from .connections import ConnectionRegistry
from .log import LogEntry, RequestLog
from .ratelimit import RateLimiter

Headers = list[tuple[bytes, bytes]]
JSON_TYPE = b"application/json; charset=utf-8"
SSE_TYPE = b"text/event-stream; charset=utf-8"


class ConnectionDropped(Exception):
    """Raised by :meth:`Exchange.drop` when the server gives the app no way to reset the
    connection (not started through :func:`~.connections.protocol_class`, e.g. the app under
    ``httpx.ASGITransport``): the caller then sees this exception instead of a reset."""


class ClientGone(Exception):
    """The peer went away: its body never finished within the body timeout, or it closed the
    connection mid-stream. The route stops working on the request (nothing can be answered)."""


_ID_CHARS = string.ascii_lowercase + string.digits
_ids = random.Random()  # Reply and call ids only; never the seeded fault source.


def reply_id() -> str:
    """A Baidu-like reply id, e.g. ``as-4v1h587fyv``."""
    return "as-" + "".join(_ids.choices(_ID_CHARS, k=10))


def call_id() -> str:
    """An OpenAI-like tool call id, e.g. ``call_0a1b2c...`` (24 characters after ``call_``)."""
    return "call_" + "".join(_ids.choices(_ID_CHARS, k=24))


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII kept as is (as Baidu sends it). A lone surrogate that got
    this far (the body checks refuse them) becomes ``?`` instead of breaking the reply."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


# Bodies larger than this are decoded and checked on a worker thread with the pure-Python JSON
# scanner, which lets the event loop run between its bytecodes (the C scanner would hold the
# loop for the whole parse: ~100 ms for 160,000 tiny messages). Smaller ones stay inline: the
# C scanner reads 256 KiB in a few milliseconds, and a thread hop would cost more.
OFFLOAD_BYTES = 256 * 1024
INVALID = object()  # What decode_body returns for a body that is not JSON.
T = TypeVar("T")


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as inf: not a number JSON can carry back
        raise ValueError(f"{text} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_finite)


def _yielding_decoder() -> json.JSONDecoder:
    # A fresh one per call: the pure-Python scanner keeps a memo that is not thread-safe.
    decoder = json.JSONDecoder(parse_constant=_constant, parse_float=_finite)
    decoder.scan_once = py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def decode_body(raw: bytes, yielding: bool = False) -> tuple[Any, tuple[str, str] | None]:
    """``(data, unsafe)``: the body's JSON (:data:`INVALID` if it is not strict UTF-8 JSON:
    NaN, Infinity, numbers out of float range and nesting past the stack all count) and, for
    a value JSON cannot carry back (a lone surrogate, nesting past ``MAX_DEPTH``), its
    ``(field, rule)``. ``yielding``: use the pure-Python scanner (see :data:`OFFLOAD_BYTES`)."""
    try:
        text = raw.decode("utf-8")
        data = (_yielding_decoder() if yielding else _DECODER).decode(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return INVALID, None
    unsafe = unsafe_value(data) if may_be_unsafe(text) else None
    return data, unsafe


async def off_loop(size: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``: inline for a small body, on a worker thread for one over
    :data:`OFFLOAD_BYTES` (so one large request never stalls every other client)."""
    if size > OFFLOAD_BYTES:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


class Exchange:
    """The request's scope and log entry plus the ways to answer it."""

    __slots__ = (
        "_query",
        "connections",
        "entry",
        "limiter",
        "log",
        "receive",
        "request_id",
        "request_id_header",
        "scope",
        "send",
        "started",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        log: RequestLog,
        limiter: RateLimiter,
        connections: ConnectionRegistry,
        request_id_header: bytes,
    ) -> None:
        """``request_id_header``: the header (any case) whose request value is echoed in the
        reply under the same name; a fresh UUID when the request has none."""
        self.scope = scope
        self.receive = receive
        self.send = send
        self.limiter = limiter
        self.log = log
        self.connections = connections
        self.started = False
        self._query: dict[str, str] | None = None
        headers: Headers = scope["headers"]
        self.request_id_header = request_id_header
        wanted = request_id_header.lower()
        request_id = ""
        for name, value in headers:
            if name == wanted:
                request_id = value.decode("latin-1").strip()
                break
        self.request_id = request_id or str(uuid.uuid4())
        self.entry = LogEntry(
            scope["method"],
            scope["path"],
            scope["query_string"],
            headers,
            time.time(),
            self.request_id,
            scope.get("client"),
        )
        log.append(self.entry)

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def query(self) -> dict[str, str]:
        """The decoded query (a repeated name keeps its last value)."""
        if self._query is None:
            text = self.scope["query_string"].decode("latin-1")
            self._query = dict(parse_qsl(text, keep_blank_values=True)) if text else {}
        return self._query

    def header(self, name: bytes) -> str | None:
        """A request header by lower-case name (the first one, if repeated)."""
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None

    def headers_dict(self) -> dict[str, str]:
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.scope["headers"]}

    async def read_body(self, limit: int, timeout: float | None = None) -> bytes | None:
        """The whole body, or None if it is over ``limit`` bytes (by ``Content-Length``, then
        by counting). The caller answers 413 at once; uvicorn discards the unread rest.
        :class:`ClientGone` if the client disconnects first, or has not sent it all within
        ``timeout`` seconds of its first part (the connection is then reset)."""
        declared = self.header(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        timer: asyncio.TimerHandle | None = None
        try:
            while True:
                message = await self.receive()
                if message["type"] != "http.request":
                    raise ClientGone("the client disconnected before its body was complete")
                chunk = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        return None
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
                if timer is None and timeout is not None:
                    # The body comes in parts: it must be complete within `timeout` seconds
                    # (a slowloris body), or the connection is reset. Armed only here, so a
                    # body that arrives whole costs nothing.
                    timer = asyncio.get_running_loop().call_later(
                        timeout, self.connections.abort, self.scope
                    )
        finally:
            if timer is not None:
                timer.cancel()
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.log.store_body(self.entry, body)
        return body

    def _headers(self, content_type: bytes, extra: Iterable[tuple[bytes, bytes]]) -> Headers:
        headers = [
            (b"content-type", content_type),
            (self.request_id_header, self.request_id.encode("latin-1", "replace")),
        ]
        headers.extend(self.limiter.headers(self.entry.key))
        headers.extend(extra)
        return headers

    def _finish(self, status: int | None, error_code: int | str | None) -> None:
        entry = self.entry
        entry.status = status
        entry.error_code = error_code
        entry.answered = time.time()

    async def send_json(
        self,
        obj: Any,
        *,
        status: int = 200,
        error_code: int | str | None = None,
        extra_headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        """Answer ``obj`` as JSON (and complete the log entry first)."""
        body = dumps(obj)
        headers = self._headers(JSON_TYPE, extra_headers)
        headers.append((b"content-length", str(len(body)).encode()))
        self._finish(status, error_code)
        self.started = True
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def start_stream(self) -> None:
        self.entry.stream = True
        self.entry.status = 200
        headers = self._headers(SSE_TYPE, ((b"cache-control", b"no-cache"),))
        self.started = True
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})

    async def send_event(self, data: bytes, *, last: bool = False) -> None:
        """One SSE event ``data: {json}\\n\\n``; ``last`` ends the body with it.
        :class:`ClientGone` once the client has closed the connection: an abandoned stream
        stops being generated (uvicorn would silently drop every further event)."""
        if self.connections.gone(self.scope):
            self._finish(self.entry.status, None)
            raise ClientGone("the client closed the stream")
        if last:
            self._finish(200, None)
        await self.send(
            {
                "type": "http.response.body",
                "body": b"data: " + data + b"\n\n",
                "more_body": not last,
            }
        )

    async def end_stream(self) -> None:
        """End the body cleanly without another event (a cut stream)."""
        self._finish(200, None)
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def drop(self) -> None:
        """Reset the connection now, before or during the answer (:class:`ConnectionDropped`
        when the server gives no way to)."""
        self._finish(self.entry.status if self.entry.stream else None, None)
        if not self.connections.abort(self.scope):
            raise ConnectionDropped("the server cannot reset connections from the app")
        # Wait until the server has noticed (connection_lost runs on the next loop turn), so
        # it does not complain that the app returned without answering.
        while (await self.receive())["type"] != "http.disconnect":
            pass
