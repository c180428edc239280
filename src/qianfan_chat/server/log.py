"""The request log: what each call to a Baidu route sent and what the server answered.

Tests assert on it (``server.requests()``, ``GET /_admin/requests``). Recording is cheap: an
entry keeps the raw scope pieces and is turned into a dict only when read. The log is bounded
three ways: the newest ``maxlen`` entries, each body kept as text cut to ``body_chars``
characters (never the raw bytes), and at most ``total_chars`` body characters over all entries
(the oldest entries go first). Admin routes are not logged.

Secrets are masked wherever the log leaves the process (``GET /_admin/requests``, and the
access log through :class:`AccessLogMasking`): ``access_token``, ``client_secret``, the
``Authorization`` value after its scheme (for ``bce-auth-v1`` the part after the access key),
and a bearer key or ready token in ``key``, all become ``***``. ``ServerConfig(log_secrets=True)``
shows them there too. The in-process ``LocalServer.requests()`` is the test's own view of what
it sent and shows them (``requests(masked=True)`` gives the masked view).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qsl

from .._protocol import wire

MASK = "***"
DEFAULT_TOTAL_CHARS = 32 * 1024 * 1024  # body text over the whole log (~32-128 MB)
_SECRET_PARAMS = frozenset({wire.ACCESS_TOKEN_PARAM, wire.OAUTH_CLIENT_SECRET_PARAM})
_AUTHORIZATION = wire.AUTHORIZATION_HEADER.lower()
_QUERY_SECRET = re.compile(
    "((?:^|[?&\\s\"'])(?:" + "|".join(sorted(_SECRET_PARAMS)) + ")=)[^&\\s\"'>]*"
)
_BCE_SIGNATURE = re.compile(r"(bce-auth-v1/[^/\s]+/)[^\s\"'>]+")
_BEARER = re.compile(r"((?:Bearer|bearer|BEARER)\s+)[^\s\"'>]+")


def mask_text(text: str) -> str:
    """``text`` with secret query values, bearer keys and bce-auth-v1 signatures masked."""
    if "=" in text:
        text = _QUERY_SECRET.sub(r"\1" + MASK, text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(r"\1" + MASK, text)
    if "bce-auth-v1/" in text:
        text = _BCE_SIGNATURE.sub(r"\1" + MASK, text)
    return text


def mask_query(query: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k in _SECRET_PARAMS and v else v) for k, v in query.items()}


def mask_authorization(value: str) -> str:
    scheme, space, rest = value.partition(" ")
    if value.startswith("bce-auth-v1/"):
        return _BCE_SIGNATURE.sub(r"\1" + MASK, value)
    return f"{scheme} {MASK}" if space and rest else MASK


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
        "key_secret",
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
        self.body = ""
        self.key_secret = False  # ``key`` is a credential itself (a bearer key, a ready token)
        self.answered: float | None = None
        self.status: int | None = None
        self.error_code: int | str | None = None
        self.key: str | None = None
        self.faults: tuple[str, ...] = ()
        self.stream = False

    def to_dict(self, body_chars: int = 65_536, reveal: bool = False) -> dict[str, Any]:
        """``method``, ``path``, ``query`` (dict; a repeated name keeps its last value),
        ``query_string``, ``headers`` (lower-case names; repeats joined by ``, ``), ``body``
        (text), ``time`` / ``answered_at`` (unix seconds), ``status``, ``error_code`` (None on
        success; v1 an integer, v2 its string code, BCE-BEARER the BCE code), ``request_id``,
        ``key`` (who called, once authenticated: the v1 API key or IAM access key, the v2 bearer
        key), ``faults`` (kinds applied), ``stream``, ``client`` (the peer's ``host:port``: one
        value per TCP connection). Secrets are masked unless ``reveal``."""
        query = self.query_string.decode("latin-1")
        headers: dict[str, str] = {}
        for raw_name, raw_value in self.headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == _AUTHORIZATION and not reveal:
                value = mask_authorization(value)
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        pairs = dict(parse_qsl(query, keep_blank_values=True))
        body = self.body[:body_chars]
        key = self.key
        if not reveal:
            pairs, query, body = mask_query(pairs), mask_text(query), mask_text(body)
            key = MASK if key and self.key_secret else key
        return {
            "method": self.method,
            "path": self.path,
            "query": pairs,
            "query_string": query,
            "headers": headers,
            "body": body,
            "time": self.received,
            "answered_at": self.answered,
            "status": self.status,
            "error_code": self.error_code,
            "request_id": self.request_id,
            "key": key,
            "faults": list(self.faults),
            "stream": self.stream,
            "client": f"{self.client[0]}:{self.client[1]}" if self.client else None,
        }


class RequestLog:
    """A bounded, thread-safe list of :class:`LogEntry`, in arrival order (an entry is added when
    the request arrives and completed just before the last byte of its answer is sent)."""

    def __init__(
        self,
        maxlen: int = 10_000,
        body_chars: int = 65_536,
        *,
        total_chars: int = DEFAULT_TOTAL_CHARS,
        reveal: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque()
        self.maxlen = maxlen
        self.body_chars = body_chars
        self.total_chars = total_chars
        self.reveal = reveal
        self._chars = 0

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            if self.maxlen and len(self._entries) > self.maxlen:
                self._chars -= len(self._entries.popleft().body)

    def store_body(self, entry: LogEntry, raw: bytes) -> None:
        """Keep what ``to_dict`` shows of ``raw``: its text, cut to ``body_chars`` (a UTF-8
        character is at most 4 bytes, so only that many bytes are decoded), within the log's
        ``total_chars`` (the oldest entries are forgotten first)."""
        limit = self.body_chars
        text = raw[: limit * 4].decode("utf-8", "replace")[:limit] if raw else ""
        with self._lock:
            self._chars += len(text) - len(entry.body)
            entry.body = text
            while self._chars > self.total_chars and self._entries:
                self._chars -= len(self._entries.popleft().body)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def snapshot(self, reveal: bool | None = None) -> list[dict[str, Any]]:
        """The log as JSON-ready dicts, oldest first; secrets masked unless ``reveal`` (None:
        the server's ``log_secrets``)."""
        reveal = self.reveal if reveal is None else reveal
        return [entry.to_dict(self.body_chars, reveal) for entry in self.entries()]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = 0

    def __len__(self) -> int:
        return len(self._entries)


class AccessLogMasking(logging.Filter):
    """Masks secrets in uvicorn's access records (``"%s - \"%s %s HTTP/%s\" %d"`` with the
    path and query as the third argument), e.g. ``client_secret`` and ``access_token``."""

    revealing = 0  # running servers with log_secrets=True (the logger is process-wide)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.revealing > 0:
            return True
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in args)
        elif isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        return True


_ACCESS_FILTER = AccessLogMasking()


def install_access_masking(reveal: bool = False) -> None:
    """Mask secrets in the ``uvicorn.access`` logger's records (idempotent). ``reveal`` (a
    server with ``log_secrets=True`` starting) turns the masking off until that server calls
    :func:`end_reveal`: the logger is shared by every server in the process."""
    logger = logging.getLogger("uvicorn.access")
    if _ACCESS_FILTER not in logger.filters:
        logger.addFilter(_ACCESS_FILTER)
    if reveal:
        _ACCESS_FILTER.revealing += 1


def end_reveal() -> None:
    """A ``log_secrets=True`` server stopped: mask again once none is left."""
    _ACCESS_FILTER.revealing = max(_ACCESS_FILTER.revealing - 1, 0)
