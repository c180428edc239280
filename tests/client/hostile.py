"""A tiny loopback HTTP/1.1 server that answers with scripted raw bytes: the replies a broken or
hostile peer sends, which the local Qianfan server (a well-behaved imitation) never would.

Each connection reads one request (headers and a ``Content-Length`` body) and answers with the
script for its path (the first prefix that matches), then closes.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Reply = bytes | Iterable[bytes]


def response(
    body: bytes | Iterable[bytes],
    *,
    status: int = 200,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> Iterator[bytes]:
    """A raw HTTP/1.1 response; ``length`` overrides ``Content-Length`` (None: the body's, or
    no length and ``Connection: close`` for an iterable body)."""
    head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", "Connection: close"]
    if isinstance(body, bytes):
        head.append(f"Content-Length: {len(body) if length is None else length}")
    elif length is not None:
        head.append(f"Content-Length: {length}")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    yield ("\r\n".join(head) + "\r\n\r\n").encode()
    if isinstance(body, bytes):
        yield body
    else:
        yield from body


class HostileServer:
    """``scripts``: path prefix -> a callable returning the raw reply (bytes or chunks)."""

    def __init__(self) -> None:
        self.scripts: dict[str, Callable[[], Reply]] = {}
        self.requests: list[bytes] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def script(self, prefix: str, reply: Callable[[], Reply]) -> None:
        self.scripts[prefix] = reply

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                self.requests.append(head)
                path = head.split(b" ")[1].decode("latin-1")
                for prefix, reply in self.scripts.items():
                    if path.startswith(prefix):
                        produced: Any = reply()
                        for part in [produced] if isinstance(produced, bytes) else produced:
                            conn.sendall(part)
                        break
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
