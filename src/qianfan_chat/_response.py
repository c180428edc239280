"""``QfResponse``: one reply (or one stream chunk), shaped like the official SDK's.

``resp["result"]`` reads the JSON body, as in seed document 001; ``resp.body`` is the whole body,
``resp.headers`` the HTTP headers, ``resp.statistic`` latencies and attempts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._types import Completion


class QfResponse(Mapping[str, Any]):
    """A reply from the chat API. A read-only mapping over the JSON body.

    Example::

        resp = chat.do(messages=[{"role": "user", "content": "你好"}])
        print(resp["result"], resp.body["usage"]["total_tokens"], resp.request_id)
    """

    __slots__ = ("body", "code", "headers", "request_id", "statistic")

    def __init__(
        self,
        code: int,
        headers: Mapping[str, str],
        body: dict[str, Any],
        statistic: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = code
        self.headers = headers
        self.body = body
        self.statistic: dict[str, Any] = statistic if statistic is not None else {}
        self.request_id = request_id

    @property
    def completion(self) -> Completion:
        """The v2 (OpenAI-shaped) body as typed objects: ``resp.completion.choices[0].message``,
        ``.usage``; a stream chunk's ``choices[0].delta``. Unknown fields stay in ``extra``."""
        from ._types import Completion

        if "choices" not in self.body:
            raise TypeError("completion is for v2 replies; a v1 reply reads resp['result']")
        return Completion.from_dict(self.body)

    def __getitem__(self, key: str) -> Any:
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
        # Headers are left out on purpose: they are long and add nothing to a quick look.
        return (
            f"QfResponse(code={self.code}, body={self.body!r}, statistic={self.statistic!r}, "
            f"request_id={self.request_id!r})"
        )
