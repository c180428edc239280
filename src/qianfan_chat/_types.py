"""Typed views of v2 (OpenAI-shaped) replies: ``resp.completion``.

Built from the JSON body on demand; every object keeps the fields it does not name in
``extra``, so nothing the server sends is lost (Baidu adds fields over time). Shapes:
``protocol-v2.md`` "Reply" and "Stream".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ._protocol import search as _search


def _extra(data: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


@dataclass(frozen=True)
class FunctionCall:
    name: str = ""
    arguments: str = ""  # JSON text, as the wire carries it


@dataclass(frozen=True)
class ToolCall:
    id: str = ""
    type: str = "function"
    function: FunctionCall = field(default_factory=FunctionCall)
    index: int | None = None  # stream deltas only

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        fn = data.get("function") or {}
        return cls(
            id=str(data.get("id") or ""),
            type=str(data.get("type") or "function"),
            function=FunctionCall(str(fn.get("name") or ""), str(fn.get("arguments") or "")),
            index=data.get("index"),
        )


@dataclass(frozen=True)
class Message:
    """``choices[i].message`` of a reply, or ``choices[i].delta`` of a chunk."""

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = ("role", "content", "reasoning_content", "tool_calls")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            role=data.get("role"),
            content=data.get("content"),
            reasoning_content=data.get("reasoning_content"),
            tool_calls=tuple(ToolCall.from_dict(c) for c in data.get("tool_calls") or ()),
            extra=_extra(data, cls._KNOWN),
        )


@dataclass(frozen=True)
class Choice:
    index: int = 0
    message: Message = field(default_factory=Message)  # the delta, in a chunk
    finish_reason: str | None = None
    flag: int | None = None  # 0 safe ... 4 retract (Baidu's content-safety flag)
    ban_round: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = ("index", "message", "delta", "finish_reason", "flag", "ban_round")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Choice:
        return cls(
            index=int(data.get("index") or 0),
            message=Message.from_dict(data.get("message") or data.get("delta") or {}),
            finish_reason=data.get("finish_reason"),
            flag=data.get("flag"),
            ban_round=data.get("ban_round"),
            extra=_extra(data, cls._KNOWN),
        )

    @property
    def delta(self) -> Message:
        """A chunk's delta (the same object as ``message``)."""
        return self.message


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        return cls(
            int(data.get("prompt_tokens") or 0),
            int(data.get("completion_tokens") or 0),
            int(data.get("total_tokens") or 0),
            _extra(data, ("prompt_tokens", "completion_tokens", "total_tokens")),
        )


@dataclass(frozen=True)
class SearchResult:
    """One web-search result (``search_results[i]``): ``index`` is what citation markers
    name (``^[1]^``)."""

    index: int = 0
    url: str = ""
    title: str = ""
    datasource_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchResult:
        index = data.get("index")
        source = data.get("datasource_id")
        return cls(
            index=index if isinstance(index, int) and not isinstance(index, bool) else 0,
            url=str(data.get("url") or ""),
            title=str(data.get("title") or ""),
            datasource_id=None if source is None else str(source),
            extra=_extra(data, _search.RESULT_FIELDS),
        )


@dataclass(frozen=True)
class Citation:
    """A ``^[1]^`` / ``^[1][2]^`` marker in the answer: its span ``text[start:end]``, the
    indices it names and the results they point at (those the reply carries)."""

    start: int
    end: int
    indices: tuple[int, ...]
    results: tuple[SearchResult, ...] = ()


def search_results_of(data: Mapping[str, Any]) -> tuple[SearchResult, ...]:
    """The results a reply or chunk carries (top level ``search_results`` or ``web_search``)."""
    found = _search.results_of(data)
    return tuple(SearchResult.from_dict(r) for r in found) if found else ()


def citations_in(
    text: str, results: tuple[SearchResult, ...] | list[SearchResult]
) -> list[Citation]:
    """The citation markers of ``text``, each with the results whose ``index`` it names."""
    by_index = {r.index: r for r in results}
    return [
        Citation(m.start, m.end, m.indices, tuple(by_index[i] for i in m.indices if i in by_index))
        for m in _search.markers(text)
    ]


@dataclass(frozen=True)
class Completion:
    """A v2 reply (``object`` ``chat.completion``) or stream chunk (``chat.completion.chunk``).

    Qianfan's additions: ``choices[0].message.reasoning_content`` (``.reasoning``), the web
    search's ``search_results`` (top level or under ``web_search``), ``citations`` parsed
    from the answer's markers, ``status`` (a "searching" chunk: its text is never ``text``)
    and ``cost`` in CNY when the model's price is known.
    """

    id: str = ""
    object: str = ""
    created: int = 0
    model: str = ""
    choices: tuple[Choice, ...] = ()
    usage: Usage | None = None
    search_results: tuple[SearchResult, ...] = ()
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = ("id", "object", "created", "model", "choices", "usage", _search.SEARCH_RESULTS)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        usage = data.get("usage")
        return cls(
            id=str(data.get("id") or ""),
            object=str(data.get("object") or ""),
            created=int(data.get("created") or 0),
            model=str(data.get("model") or ""),
            choices=tuple(Choice.from_dict(c) for c in data.get("choices") or ()),
            usage=Usage.from_dict(usage) if isinstance(usage, Mapping) else None,
            search_results=search_results_of(data),
            status=_search.status_of(data),
            extra=_extra(data, cls._KNOWN),
        )

    @property
    def text(self) -> str:
        """The first choice's content (a chunk's new text); "" for a status chunk."""
        if self.status is not None or not self.choices:
            return ""
        return self.choices[0].message.content or ""

    @property
    def reasoning(self) -> str:
        """The first choice's ``reasoning_content`` (a chunk's new reasoning)."""
        return (self.choices[0].message.reasoning_content or "") if self.choices else ""

    @property
    def citations(self) -> list[Citation]:
        """The answer's citation markers, each pointing at its search results."""
        return citations_in(self.text, self.search_results)

    @property
    def cost(self) -> Decimal | None:
        """What ``usage`` cost in CNY at the model's price (the live catalogue's when it was
        fetched in this process, else the built-in table's); None when either is unknown."""
        if self.usage is None:
            return None
        from ._catalogue import cost_of

        return cost_of(self.model, self.usage)


@dataclass(frozen=True)
class ModelInfo:
    """What the model table knows of a model (``ChatCompletion.get_model_info``), in the
    fields of Baidu's SDK ``QfLLMInfo``: ``endpoint`` (v1: the path after the API prefix; v2:
    the chat path), the body parameters it takes (``optional_keys``; v2: unknown, empty),
    its input budget in tokens, and v2's capabilities."""

    name: str
    endpoint: str
    optional_keys: frozenset[str] = frozenset()
    required_keys: frozenset[str] = frozenset({"messages"})
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    function_calling: bool | None = None
    reasoning: bool | None = None
    api_type: str = "chat"
