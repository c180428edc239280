"""The request log: what each call to a Baidu route sent and what the server answered.

Tests assert on it (``server.requests()``, ``GET /_admin/requests``). Recording is cheap: an
entry keeps the raw scope pieces and is turned into a dict only when read. The log is bounded
(the newest ``maxlen`` entries) and bodies are cut to ``body_chars`` characters. Admin routes are
not logged. Everything in it is what a client sent to a TEST server, tokens and signatures
included, on purpose: a test may assert that they were sent.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qsl


class LogEntry:
    """One logged exchange; see :meth:`to_dict` for the JSON form."""

    __slots__ = (
        "answered",
        "body",
        "client",
        "error_code",
        "faults",
        "headers",
        "key",
        "method",
        "path",
        "query_string",
        "received",
        "request_id",
        "status",
        "stream",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: list[tuple[bytes, bytes]],
        received: float,
        request_id: str,
        client: Any = None,
    ) -> None:
        self.client = client
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.received = received
        self.request_id = request_id
        self.body = b""
        self.answered: float | None = None
        self.status: int | None = None
        self.error_code: int | str | None = None
        self.key: str | None = None
        self.faults: tuple[str, ...] = ()
        self.stream = False

    def to_dict(self, body_chars: int = 65_536) -> dict[str, Any]:
        """``method``, ``path``, ``query`` (dict; a repeated name keeps its last value),
        ``query_string``, ``headers`` (lower-case names; repeats joined by ``, ``), ``body``
        (text), ``time`` / ``answered_at`` (unix seconds), ``status``, ``error_code`` (None on
        success; v1 an integer, v2 its string code, BCE-BEARER the BCE code), ``request_id``,
        ``key`` (who called, once authenticated: the v1 API key or IAM access key, the v2 bearer
        key), ``faults`` (kinds applied), ``stream``, ``client`` (the peer's ``host:port``: one
        value per TCP connection)."""
        query = self.query_string.decode("latin-1")
        headers: dict[str, str] = {}
        for raw_name, raw_value in self.headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(parse_qsl(query, keep_blank_values=True)),
            "query_string": query,
            "headers": headers,
            "body": self.body[: body_chars * 4].decode("utf-8", "replace")[:body_chars],
            "time": self.received,
            "answered_at": self.answered,
            "status": self.status,
            "error_code": self.error_code,
            "request_id": self.request_id,
            "key": self.key,
            "faults": list(self.faults),
            "stream": self.stream,
            "client": f"{self.client[0]}:{self.client[1]}" if self.client else None,
        }


class RequestLog:
    """A bounded, thread-safe list of :class:`LogEntry`, in arrival order (an entry is added when
    the request arrives and completed just before the last byte of its answer is sent)."""

    def __init__(self, maxlen: int = 10_000, body_chars: int = 65_536) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque(maxlen=maxlen or None)
        self.body_chars = body_chars

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def snapshot(self) -> list[dict[str, Any]]:
        """The log as JSON-ready dicts, oldest first."""
        return [entry.to_dict(self.body_chars) for entry in self.entries()]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
