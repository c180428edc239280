"""The gate in front of ``/_admin/*``: who may script the server, and with what.

The admin routes can install faults, rules and limits and read the request log, so a web page
the developer happens to open must not reach them (a ``text/plain`` POST is a "simple" request
a browser sends cross-site without asking), nor a host on the network. In order:

* ``admin_token`` set: the ``X-Qianfan-Admin-Token`` header must carry it (compared in constant
  time), else 401. :meth:`ServerConfig.check_bind` refuses a non-loopback bind without one.
* bound to loopback: the ``Host`` header must name a loopback host (``127.0.0.1``,
  ``localhost``, ``[::1]``, any port), else 403: a DNS-rebinding page sends its own name.
* a write (``POST``/``PUT``/``PATCH``/``DELETE``) with an ``Origin`` header must come from the
  server's own origin (``http://{Host}``), and one marked ``Sec-Fetch-Site: cross-site`` is
  refused, else 403; a write with a body must be ``Content-Type: application/json``, else 415
  (a browser cannot send that cross-site without a CORS preflight, which is never answered).
* a body over ``max_body_bytes`` is refused with 413, counted as it arrives.

Errors are ``{"error": "..."}``, as the admin routes answer theirs.
"""

from __future__ import annotations

import json
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import ADMIN_TOKEN_HEADER, ServerConfig, is_loopback

_TOKEN = ADMIN_TOKEN_HEADER.lower().encode()
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _host_name(host: str) -> str:
    if host.startswith("["):  # [::1]:8866
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class AdminGuard:
    """ASGI middleware applying the rules of this module before the admin router."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    def verdict(self, scope: Scope) -> tuple[int, str] | None:
        """``(status, reason)`` refusing the request, or None to let it through."""
        config = self.config
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        if config.admin_token:
            given = headers.get(_TOKEN, b"")
            if not secrets.compare_digest(given, config.admin_token.encode()):
                return 401, f"the admin routes need the {ADMIN_TOKEN_HEADER} header"
        host = headers.get(b"host", b"").decode("latin-1")
        if config.loopback and not is_loopback(_host_name(host)):
            return 403, "the Host header must name this machine (127.0.0.1, localhost or [::1])"
        if scope["method"] in _WRITES:
            origin = headers.get(b"origin")
            if origin is not None and origin.decode("latin-1") != f"http://{host}":
                return 403, "cross-origin admin writes are refused"
            if headers.get(b"sec-fetch-site") == b"cross-site":
                return 403, "cross-site admin writes are refused"
            length = headers.get(b"content-length", b"0").strip()
            has_body = length != b"0" or b"transfer-encoding" in headers
            kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if has_body and kind != b"application/json":
                return 415, "admin writes take Content-Type: application/json"
            if length.isdigit() and int(length) > config.max_body_bytes:
                return 413, f"request body too large (over {config.max_body_bytes} bytes)"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self.verdict(scope)
        if refused is not None:
            await _refuse(send, *refused)
            return
        limit = self.config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:  # Read the body here, bounded, then replay it to the router.
            message = await receive()
            if message["type"] != "http.request":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, 413, f"request body too large (over {limit} bytes)")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)
