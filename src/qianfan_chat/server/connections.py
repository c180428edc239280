"""Dropping a TCP connection from inside the ASGI app (the ``drop`` and ``stream_cut`` faults).

ASGI gives an app no handle on its connection, so the server runs uvicorn with a subclass of
uvicorn's HTTP protocol class that records each connection's transport in a
:class:`ConnectionRegistry`, keyed by ``(client address, server address)``: exactly the
``scope["client"]`` and ``scope["server"]`` uvicorn builds from the same socket. The app looks
its transport up and calls ``transport.abort()``: the client sees the connection reset, with no
response byte (or mid-stream). Servers not started through :func:`protocol_class` (e.g. the app
mounted elsewhere) have an empty registry; the faults then fall back (see
:class:`~.wire.ConnectionDropped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Mapping
from typing import Any

Address = tuple[str, int | None] | None
Key = tuple[Any, Any]


def _base_protocol() -> type[asyncio.Protocol]:
    try:
        import httptools  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol  # type: ignore[no-any-return]
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    return HttpToolsProtocol  # type: ignore[no-any-return]


def _address(info: Any) -> Any:
    if isinstance(info, list | tuple) and len(info) >= 2:
        return (str(info[0]), int(info[1]) if info[1] is not None else None)
    return info


def _set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Disable Nagle's algorithm. asyncio does it only for sockets whose ``proto`` is
    IPPROTO_TCP, and a socket made with ``socket.socket(AF_INET, SOCK_STREAM)`` has proto 0:
    without this, a keep-alive response written in two parts waits ~40 ms for a delayed ACK."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class ConnectionRegistry:
    """Live transports by ``(client, server)`` address pair. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transports: dict[Key, asyncio.BaseTransport] = {}
        self._used = False  # a server registers here (else nothing can be known about peers)

    def add(self, transport: asyncio.BaseTransport) -> Key:
        key = (
            _address(transport.get_extra_info("peername")),
            _address(transport.get_extra_info("sockname")),
        )
        with self._lock:
            self._transports[key] = transport
            self._used = True
        return key

    def gone(self, scope: Mapping[str, Any]) -> bool:
        """Whether the peer of ``scope`` has closed its connection (a client that abandoned a
        stream): one dict lookup. False when no server registers here."""
        if not self._used:
            return False
        transport = self._transports.get(
            (_address(scope.get("client")), _address(scope.get("server")))
        )
        return transport is None or transport.is_closing()

    def discard(self, key: Key) -> None:
        with self._lock:
            self._transports.pop(key, None)

    def abort(self, scope: Mapping[str, Any]) -> bool:
        """Reset the connection ``scope`` arrived on; False if it is not known here."""
        key = (_address(scope.get("client")), _address(scope.get("server")))
        with self._lock:
            transport = self._transports.get(key)
        if transport is None or transport.is_closing():
            return False
        abort = getattr(transport, "abort", None)
        if abort is None:
            return False
        abort()
        return True

    def __len__(self) -> int:
        return len(self._transports)


def protocol_class(
    registry: ConnectionRegistry, header_timeout: float | None = None
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class, subclassed to record transports in ``registry`` and to
    close a connection whose request line and headers are not complete ``header_timeout``
    seconds after it opened or after its previous response (slowloris: uvicorn's own
    keep-alive timer stops at the first byte of a new request, and nothing bounds a
    connection that never sends one). None: no header timeout.

    Pass it as ``uvicorn.Config(http=...)``.
    """
    base: Any = _base_protocol()

    class RegisteringProtocol(base):  # type: ignore[misc]
        _qianfan_key: Key | None = None
        _qianfan_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._qianfan_key = registry.add(transport)
            _set_nodelay(transport)
            super().connection_made(transport)
            self._qianfan_arm()

        def _qianfan_waiting(self) -> bool:
            cycle = self.cycle
            return cycle is None or bool(cycle.response_complete)

        def _qianfan_arm(self) -> None:
            if header_timeout is not None and self._qianfan_timer is None:
                self._qianfan_timer = asyncio.get_running_loop().call_later(
                    header_timeout, self._qianfan_expired
                )

        def _qianfan_disarm(self) -> None:
            if self._qianfan_timer is not None:
                self._qianfan_timer.cancel()
                self._qianfan_timer = None

        def _qianfan_expired(self) -> None:
            self._qianfan_timer = None
            if self._qianfan_waiting() and not self.transport.is_closing():
                self.transport.close()  # No request in progress: nothing to answer.

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._qianfan_waiting():
                self._qianfan_arm()  # Partial headers: the deadline runs from the first byte.
            else:
                self._qianfan_disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._qianfan_disarm()  # uvicorn's keep-alive timer now bounds the idle time

        def connection_lost(self, exc: Exception | None) -> None:
            self._qianfan_disarm()
            if self._qianfan_key is not None:
                registry.discard(self._qianfan_key)
            super().connection_lost(exc)

    return RegisteringProtocol
