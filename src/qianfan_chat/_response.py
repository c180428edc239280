"""``QfResponse``: one reply (or one stream chunk), shaped like the official SDK's, and
``QfRequest``, what was sent for it (secrets masked).

``resp["result"]`` reads the JSON body, as in seed document 001. As in Baidu's SDK, the
response's own fields come first: ``resp["body"]`` is the whole body, ``resp["code"]`` the HTTP
status, ``resp["headers"]`` the headers, ``resp["statistic"]`` latencies and attempts,
``resp["request"]`` the request; any other key is the body's. Iterating, ``len`` and ``in`` go
over the body.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._types import Completion

# The response's own fields, read before the body's keys (the SDK's order).
_OWN_FIELDS = frozenset({"body", "code", "headers", "statistic", "request"})
# Query parameters and headers whose values are credentials.
_SECRET_PARAMS = frozenset({"access_token", "client_id", "client_secret"})
_SECRET_HEADERS = frozenset({"authorization"})
MASK = "***"


class QfRequest:
    """The request a reply answers, as the SDK's ``resp.request``: ``method``, ``url``,
    ``query``, ``headers`` and ``json_body``. Credentials (the v1 ``access_token`` in the
    query, ``Authorization`` headers) are masked: this object is safe to print and log.
    (A plain class, not a dataclass: ``import qianfan_chat`` stays light.)"""

    __slots__ = ("headers", "json_body", "method", "query", "url")

    def __init__(
        self,
        method: str,
        url: str,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> None:
        self.method = method
        self.url = url
        self.query = query or {}
        self.headers = headers or {}
        self.json_body = json_body if json_body is not None else {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QfRequest):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"QfRequest(method={self.method!r}, url={self.url!r}, query={self.query!r}, "
            f"headers={self.headers!r}, json_body={self.json_body!r})"
        )

    @classmethod
    def from_send(
        cls,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        content: bytes | None,
    ) -> QfRequest:
        query = {k: (MASK if k in _SECRET_PARAMS else v) for k, v in (params or {}).items()}
        shown = {k: (MASK if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
        body: Any = {}
        if content:
            import json

            try:
                body = json.loads(content)
            except ValueError:  # a multipart upload, say: show its size, not its bytes
                body = {"bytes": len(content)}
        return cls(method, url, query, shown, body)


class QfResponse(Mapping[str, Any]):
    """A reply from the chat API. A read-only mapping over the JSON body.

    Example::

        resp = chat.do(messages=[{"role": "user", "content": "你好"}])
        print(resp["result"], resp["body"]["usage"]["total_tokens"], resp.request_id)
    """

    __slots__ = ("_request", "_sent", "body", "code", "headers", "request_id", "statistic")

    def __init__(
        self,
        code: int,
        headers: Mapping[str, str],
        body: dict[str, Any],
        statistic: dict[str, Any] | None = None,
        request_id: str | None = None,
        sent: Any = None,
    ) -> None:
        self.code = code
        self.headers = headers
        self.body = body
        self.statistic: dict[str, Any] = statistic if statistic is not None else {}
        self.request_id = request_id
        self._sent = sent  # the flow's Send action; QfRequest is built from it on first use
        self._request: QfRequest | None = None

    @property
    def request(self) -> QfRequest | None:
        """What was sent for this reply (secrets masked); None for stream chunks."""
        if self._request is None and self._sent is not None:
            s = self._sent
            self._request = QfRequest.from_send(s.method, s.url, s.params, s.headers, s.content)
        return self._request

    @property
    def completion(self) -> Completion:
        """The v2 (OpenAI-shaped) body as typed objects: ``resp.completion.choices[0].message``,
        ``.usage``; a stream chunk's ``choices[0].delta``. Unknown fields stay in ``extra``."""
        from ._types import Completion

        if "choices" not in self.body:
            raise TypeError("completion is for v2 replies; a v1 reply reads resp['result']")
        return Completion.from_dict(self.body)

    def __getitem__(self, key: str) -> Any:
        if key in _OWN_FIELDS:
            return getattr(self, key)
        return self.body[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.body)

    def __len__(self) -> int:
        return len(self.body)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, QfResponse):
            return self.code == other.code and self.body == other.body
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # The SDK's layout (a dataclass repr) plus the request id; the request's secrets are
        # masked.
        return (
            f"QfResponse(code={self.code}, headers={dict(self.headers)!r}, body={self.body!r}, "
            f"statistic={self.statistic!r}, request={self.request!r}, "
            f"request_id={self.request_id!r})"
        )
