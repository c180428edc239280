"""Pure converters between LangChain messages and the v2 (OpenAI-compatible) chat protocol.
No I/O here.

v2 (``protocol-v2.md``) takes OpenAI's message list, so most of a LangChain conversation maps
one to one; :func:`convert_messages_v2` sends it in order, as given (v2 has no alternation
rule, unlike v1):

* **Roles**: ``SystemMessage`` → ``system`` (``developer`` when its ``additional_kwargs``
  carry ``__openai_role__="developer"``, as langchain-openai marks it), in place, after the
  model's own ``system`` persona (sent as the first ``system`` message); ``HumanMessage`` →
  ``user``; ``AIMessage`` → ``assistant``; ``ToolMessage`` → ``tool`` with its
  ``tool_call_id``; ``FunctionMessage`` (legacy) → ``tool`` answering the latest call of that
  function; ``ChatMessage`` by its role. A ``name`` on a user or assistant message is not sent
  (v2 documents no such field).
* **Tool calls**: an ``AIMessage`` with N tool calls is ONE ``assistant`` message with N
  ``tool_calls`` (``{id, type: "function", function: {name, arguments (JSON text)}}``), its text
  as ``content`` (``""`` when it has none, as v2's own tool-call replies do); invalid tool calls
  that have a name go back as they came (raw arguments). A call without an id gets
  ``call_{hash}_{index}``. A ``tool`` message carries the ``name`` of the function it answers
  when known, as :class:`qianfan_chat.Messages` does.
* **Content** lists are flattened to text (text blocks joined by a newline); tool-use and
  reasoning blocks are dropped; images, audio and files raise ``ValueError`` (v2 chat is
  text-only here). A blank system message and an assistant message with neither text nor tool
  calls are dropped; an empty tool result is sent as ``""`` (JSON for an empty string), since
  v2 refuses a blank last message. ``reasoning_content`` is never sent back.

Incoming, :func:`convert_response_v2` turns a reply into an ``AIMessage`` and
:class:`StreamConverterV2` turns the chunks of one stream into ``AIMessageChunk``\\ s: text,
``reasoning_content`` (in ``additional_kwargs``), tool calls (``tool_call_chunks`` with
``index``/``id``/``name``/``args`` pieces in a stream), ``usage_metadata`` and
``response_metadata`` (``model_name``, ``finish_reason``, ``id``, ``created``, ``request_id``,
Baidu's ``flag``/``ban_round``), all exactly once in a stream, on its last chunk.
:func:`community_kwargs_v2` (and :meth:`StreamConverterV2.community_kwargs` for a stream) is
what langchain-community's ``QianfanChatEndpoint`` put in ``additional_kwargs`` on v1, read
from the v2 reply; the dialect adds it (see :mod:`._call`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from .._protocol import search
from ._blocks import user_content
from ._convert import PROVIDER, content_to_text, tool_call_id

V2Message = dict[str, Any]

_ROLE_OF_CHAT_MESSAGE = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
    "developer": "developer",
    "tool": "tool",
    "function": "function",
}
# Keys of a reply (or of a stream's chunks) copied into ``response_metadata`` when present.
_REPLY_KEYS = ("id", "created", "search_results")
_CHOICE_KEYS = ("finish_reason", "flag", "ban_round")


# -- outgoing: LangChain -> v2 ------------------------------------------------------------------


def _text(message: BaseMessage) -> str:
    return content_to_text(message.content, api="v2")


def _v2_text(content: Any) -> str:
    return content_to_text(content, api="v2")


def _result_text(message: BaseMessage) -> str:
    text = _text(message)
    return text if text else json.dumps(text)


def _arguments(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)


def _wire_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


class _Conversation:
    """The state of one conversion: the names of the calls sent so far, by id, and the id of
    the latest legacy ``function_call`` of each function."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.legacy: dict[str, str] = {}
        self.out: list[V2Message] = []

    def assistant(self, message: AIMessage, keep_reasoning: bool = False) -> None:
        calls: list[dict[str, Any]] = []
        for call in message.tool_calls:
            arguments = _arguments(call["args"])
            call_id = call["id"] or tool_call_id(None, len(calls), call["name"], arguments)
            calls.append(_wire_call(call_id, call["name"], arguments))
        for bad in message.invalid_tool_calls:
            if bad.get("name"):
                arguments = bad.get("args") or ""
                call_id = bad.get("id") or tool_call_id(None, len(calls), bad["name"] or "")
                calls.append(_wire_call(call_id, str(bad["name"]), arguments))
        legacy = message.additional_kwargs.get("function_call")
        if not calls and isinstance(legacy, Mapping) and legacy.get("name"):
            # Legacy function calling (FunctionMessage replies): one call, id made up.
            name, arguments = str(legacy["name"]), _arguments(legacy.get("arguments", "{}"))
            call_id = tool_call_id(message.id, len(self.out), name, arguments)
            self.legacy[name] = call_id
            calls.append(_wire_call(call_id, name, arguments))
        text = _text(message)
        if not calls and not text:
            return
        turn: V2Message = {"role": "assistant", "content": text}
        reasoning = message.additional_kwargs.get("reasoning_content")
        if keep_reasoning and calls and isinstance(reasoning, str) and reasoning:
            turn["reasoning_content"] = reasoning  # interleaved thinking, one tool-call loop
        if calls:
            turn["tool_calls"] = calls
            for wire in calls:
                self.names[wire["id"]] = wire["function"]["name"]
        self.out.append(turn)

    def tool(self, call_id: str, name: str | None, message: BaseMessage) -> None:
        turn: V2Message = {
            "role": "tool",
            "tool_call_id": call_id,
            "content": _result_text(message),
        }
        name = name or self.names.get(call_id)
        if name:
            turn["name"] = name
        self.out.append(turn)

    def function(self, name: str | None, message: BaseMessage) -> None:
        """A legacy function result: the ``tool`` message of that function's latest call."""
        call_id = self.legacy.get(name or "")
        if call_id is None:
            raise ValueError(
                f"a function result ({name!r}) follows no function_call of that name: v2 "
                "needs the call it answers"
            )
        self.tool(call_id, name, message)


def _system_role(message: BaseMessage) -> str:
    return (
        "developer" if message.additional_kwargs.get("__openai_role__") == "developer" else "system"
    )


def convert_messages_v2(
    messages: Sequence[BaseMessage], *, system: str | None = None, interleaved: bool = False
) -> list[V2Message]:
    """The ``messages`` of a v2 body from a LangChain conversation (rules above).

    ``system`` is the model's own persona, sent first. Raises ``ValueError`` when nothing is
    left to send.

    >>> convert_messages_v2([SystemMessage("Be brief."), HumanMessage("Hi")])
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    conv = _Conversation()
    if system:
        conv.out.append({"role": "system", "content": system})
    # Reasoning goes back only for an interleaved-thinking model, and only for the tool calls
    # after the latest question (one tool-call loop; protocol-v2-extensions.md section 2).
    loop_start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    for position, message in enumerate(messages):
        if isinstance(message, SystemMessage):
            text = _text(message)
            if text:
                conv.out.append({"role": _system_role(message), "content": text})
        elif isinstance(message, HumanMessage):
            conv.out.append({"role": "user", "content": user_content(message.content, _v2_text)})
        elif isinstance(message, AIMessage):
            conv.assistant(message, keep_reasoning=interleaved and position > loop_start)
        elif isinstance(message, ToolMessage):
            conv.tool(message.tool_call_id, message.name, message)
        elif isinstance(message, FunctionMessage):
            conv.function(message.name, message)
        elif isinstance(message, ChatMessage):
            _chat_message(conv, message)
        else:
            raise TypeError(f"cannot send a {type(message).__name__} to the Qianfan v2 chat API")
    if not conv.out:
        raise ValueError("no message to send: the conversation is empty")
    return conv.out


def _chat_message(conv: _Conversation, message: ChatMessage) -> None:
    role = _ROLE_OF_CHAT_MESSAGE.get(message.role.lower())
    if role is None:
        raise ValueError(f"ChatMessage role {message.role!r} has no v2 equivalent")
    extra = message.additional_kwargs
    if role == "tool":
        call_id = extra.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise ValueError("a ChatMessage with role 'tool' needs additional_kwargs tool_call_id")
        name = extra.get("name")
        conv.tool(call_id, name if isinstance(name, str) else None, message)
    elif role == "function":
        name = extra.get("name")
        conv.function(name if isinstance(name, str) else None, message)
    elif role == "assistant":
        conv.assistant(AIMessage(content=message.content, additional_kwargs=dict(extra)))
    else:
        text = _text(message)
        if text or role == "user":
            conv.out.append({"role": role, "content": text})


# -- incoming: v2 -> LangChain ------------------------------------------------------------------


def usage_metadata_v2(usage: Any) -> UsageMetadata | None:
    """LangChain usage from a v2 ``usage`` object, with the cached input tokens
    (``prompt_tokens_details.cached_tokens``) and reasoning tokens
    (``completion_tokens_details.reasoning_tokens``) when the reply counts them."""
    if not isinstance(usage, Mapping):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or prompt + completion)
    result = cast(
        "UsageMetadata",
        {"input_tokens": prompt, "output_tokens": completion, "total_tokens": total},
    )
    prompt_details = usage.get("prompt_tokens_details")
    if isinstance(prompt_details, Mapping) and prompt_details.get("cached_tokens") is not None:
        cached = int(prompt_details["cached_tokens"])
        result["input_token_details"] = InputTokenDetails(cache_read=cached)
    completion_details = usage.get("completion_tokens_details")
    if (
        isinstance(completion_details, Mapping)
        and completion_details.get("reasoning_tokens") is not None
    ):
        reasoning = int(completion_details["reasoning_tokens"])
        result["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return result


def _first_choice(body: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = body.get("choices")
    if not isinstance(choices, list):
        return {}
    for choice in choices:
        if isinstance(choice, Mapping) and int(choice.get("index") or 0) == 0:
            return choice
    return {}


def _metadata(
    reply: Mapping[str, Any], choice: Mapping[str, Any], model_name: str, request_id: str | None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"model_name": model_name, "model_provider": PROVIDER}
    for source, keys in ((reply, _REPLY_KEYS), (choice, _CHOICE_KEYS)):
        for key in keys:
            if source.get(key) is not None:
                meta[key] = source[key]
    results = search.results_of(reply)  # top level, or under web_search (section 3)
    if results is not None:
        meta["search_results"] = results
    if request_id:
        meta["request_id"] = request_id
    return meta


def _call_parts(raw: Any, reply_id: str | None) -> list[tuple[str, str, str]]:
    """``(id, name, arguments as a JSON string)`` of each well-formed entry of a reply
    message's ``tool_calls``; an entry without an id gets :func:`tool_call_id`'s."""
    calls: list[tuple[str, str, str]] = []
    for index, item in enumerate(raw if isinstance(raw, list) else ()):
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")
        function = function if isinstance(function, Mapping) else {}
        name = str(function.get("name") or "")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
        call_id = str(item.get("id") or "") or tool_call_id(reply_id, index, name, arguments)
        calls.append((call_id, name, arguments))
    return calls


def _parsed_calls(raw: Any, reply_id: str | None) -> tuple[list[Any], list[Any]]:
    """``(tool calls, invalid tool calls)`` from a reply message's ``tool_calls``."""
    calls: list[Any] = []
    invalid: list[Any] = []
    for call_id, name, arguments in _call_parts(raw, reply_id):
        try:
            args = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            invalid.append(invalid_tool_call(name=name, args=arguments, id=call_id, error=str(exc)))
            continue
        if not isinstance(args, dict):
            error = "tool call arguments are not a JSON object"
            invalid.append(invalid_tool_call(name=name, args=arguments, id=call_id, error=error))
            continue
        calls.append(tool_call(name=name, args=args, id=call_id))
    return calls, invalid


def convert_response_v2(
    body: Mapping[str, Any], *, model_name: str, request_id: str | None = None
) -> AIMessage:
    """An ``AIMessage`` from a complete v2 reply body (its first choice). ``model_name`` is the
    reply's ``model`` when it has one (the model that answered), else the one given."""
    reply_id = str(body["id"]) if body.get("id") else None
    choice = _first_choice(body)
    message = choice.get("message")
    message = message if isinstance(message, Mapping) else {}
    additional: dict[str, Any] = {}
    if message.get("reasoning_content"):
        additional["reasoning_content"] = message["reasoning_content"]
    calls, invalid = _parsed_calls(message.get("tool_calls"), reply_id)
    name = str(body.get("model") or model_name)
    return AIMessage(
        content=message.get("content") or "",
        additional_kwargs=additional,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata_v2(body.get("usage")),
        response_metadata=_metadata(body, choice, name, request_id),
        id=reply_id,
    )


def _wire_calls(calls: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [_wire_call(call_id, name, arguments) for call_id, name, arguments in calls]


def _community(
    reply: Mapping[str, Any],
    finish_reason: Any,
    calls: list[dict[str, Any]],
    request_id: str | None,
) -> dict[str, Any]:
    search_results = reply.get("search_results")
    out: dict[str, Any] = {
        "finish_reason": finish_reason or "",
        "request_id": str(reply.get("id") or "") or request_id or "",
        "object": reply.get("object") or "",
        "search_info": {"search_results": search_results} if search_results else [],
    }
    if calls:
        out["function_call"] = dict(calls[0]["function"])
        out["tool_calls"] = calls
    return out


def community_kwargs_v2(body: Mapping[str, Any], request_id: str | None = None) -> dict[str, Any]:
    """What langchain-community's ``QianfanChatEndpoint`` put in ``additional_kwargs`` (on
    v1), read from a v2 reply: ``finish_reason`` (the first choice's, ``""`` without one),
    ``request_id`` (the reply's ``id``, as it did; else the HTTP request id), ``object``,
    ``search_info`` (v2's ``search_results`` as ``{"search_results": [...]}``, v1's shape;
    ``[]`` without them) and, when the reply calls tools, ``tool_calls`` (OpenAI's shape, ids
    as the message's tool calls have them) and ``function_call`` (the first call's
    ``{name, arguments}``, as v1 carried it).

    >>> community_kwargs_v2({"id": "as-1", "object": "chat.completion",
    ...                      "choices": [{"index": 0, "finish_reason": "stop"}]})
    {'finish_reason': 'stop', 'request_id': 'as-1', 'object': 'chat.completion', 'search_info': []}
    """
    reply_id = str(body["id"]) if body.get("id") else None
    choice = _first_choice(body)
    message = choice.get("message")
    raw = message.get("tool_calls") if isinstance(message, Mapping) else None
    # read as _parsed_calls reads them, so the ids agree
    calls = _call_parts(raw, reply_id)
    return _community(body, choice.get("finish_reason"), _wire_calls(calls), request_id)


class StreamConverterV2:
    """Turns the chunks of ONE v2 stream into ``AIMessageChunk``\\ s, in order. Pure: feed it
    each chunk's body (:meth:`convert`), then call :meth:`finish` when the stream is over.

    Every chunk's text, reasoning and tool-call pieces go out at once (no delay). The usage,
    the finish reason, Baidu's ``flag`` (the highest seen) and ``ban_round`` and the rest of
    the response metadata go out exactly once, on the LAST chunk (``chunk_position="last"``),
    so that adding the chunks up counts everything once:

    * the ``include_usage`` chunk (``choices: []`` with ``usage``; the client asks for it) is
      that last chunk;
    * a stream without one (the connection closed after the finish reason, or the usage came
      on a chunk that still has ``choices``: ``protocol-v2.md`` leaves that open) gets a last
      chunk made up by :meth:`finish`, with the latest usage any chunk carried (Baidu's
      ``chunk_include_usage`` sends running counts on every chunk: the latest is the total,
      and only it is counted).

    A tool call whose id never came gets ``call_{reply id}_{index}`` on the last chunk.
    """

    def __init__(self, *, model_name: str) -> None:
        self.model_name = model_name
        self.done = False
        self._reply: dict[str, Any] = {}
        self._choice: dict[str, Any] = {}
        self._usage: Any = None  # the latest usage seen, for a stream without a usage chunk
        self._request_id: str | None = None
        self._call_ids: dict[int, str | None] = {}
        self._call_names: dict[int, str] = {}
        self._call_arguments: dict[int, str] = {}
        self.token_usage: Mapping[str, Any] | None = None
        """The wire usage the last chunk counted (None before it, or when there was none)."""

    def convert(
        self, body: Mapping[str, Any], request_id: str | None = None
    ) -> AIMessageChunk | None:
        """The chunk for one stream chunk's body (None once the last chunk has gone out)."""
        if self.done:
            return None
        self._request_id = request_id or self._request_id
        for key in ("id", "object", "created", "model", "search_results", "web_search"):
            if body.get(key) is not None:
                self._reply.setdefault(key, body[key])
        usage = body.get("usage")
        choices = body.get("choices")
        if not choices and isinstance(usage, Mapping):
            return self._last(usage)
        choice = _first_choice(body)
        delta = choice.get("delta") or choice.get("message")  # some servers send "message"
        delta = delta if isinstance(delta, Mapping) else {}
        additional: dict[str, Any] = {}
        if delta.get("reasoning_content"):
            additional["reasoning_content"] = delta["reasoning_content"]
        metadata: dict[str, Any] = {"model_provider": PROVIDER}
        content = delta.get("content") or ""
        status = search.status_of(body)
        if status is not None:  # web search's "searching" signal: a status, not answer text
            metadata["search_status"] = status
            content = ""
        pieces = [self._piece(i, c) for i, c in enumerate(delta.get("tool_calls") or ())]
        self._note_choice(choice)
        if isinstance(usage, Mapping):
            self._usage = usage
        return AIMessageChunk(
            content=content,
            additional_kwargs=additional,
            tool_call_chunks=[p for p in pieces if p is not None],
            response_metadata=metadata,
            id=self._reply_id,
        )

    def finish(self) -> AIMessageChunk | None:
        """The last chunk, if the stream sent none (see the class notes); else None."""
        return None if self.done else self._last(self._usage)

    @property
    def _reply_id(self) -> str | None:
        reply_id = self._reply.get("id")
        return str(reply_id) if reply_id else None

    def _piece(self, position: int, delta: Any) -> Any:
        if not isinstance(delta, Mapping):
            return None
        index = delta.get("index")
        index = index if isinstance(index, int) else position
        function = delta.get("function")
        function = function if isinstance(function, Mapping) else {}
        call_id = delta.get("id") or None
        name = function.get("name") or None
        if call_id is not None or index not in self._call_ids:
            self._call_ids[index] = self._call_ids.get(index) or call_id
        if name is not None:
            self._call_names.setdefault(index, name)
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        self._call_arguments[index] = self._call_arguments.get(index, "") + (arguments or "")
        return tool_call_chunk(name=name, args=arguments, id=call_id, index=index)

    def _final_id(self, index: int) -> str:
        return self._call_ids.get(index) or tool_call_id(
            self._reply_id, index, self._call_names.get(index, "")
        )

    def community_kwargs(self) -> dict[str, Any]:
        """:func:`community_kwargs_v2` for the stream so far (its pieces put together, the ids
        its last chunk gives), for the last chunk."""
        calls = [
            (self._final_id(index), self._call_names.get(index, ""), self._call_arguments[index])
            for index in sorted(self._call_arguments)
        ]
        finish = self._choice.get("finish_reason")
        return _community(self._reply, finish, _wire_calls(calls), self._request_id)

    def _note_choice(self, choice: Mapping[str, Any]) -> None:
        if choice.get("finish_reason"):
            self._choice["finish_reason"] = choice["finish_reason"]
        flag = choice.get("flag")
        if isinstance(flag, int) and flag >= int(self._choice.get("flag", flag)):
            self._choice["flag"] = flag
        if choice.get("ban_round") is not None:
            self._choice["ban_round"] = choice["ban_round"]

    def _last(self, usage: Any) -> AIMessageChunk:
        self.done = True
        self.token_usage = usage if isinstance(usage, Mapping) else None
        reply_id = self._reply_id
        missing = [
            tool_call_chunk(name=None, args=None, id=self._final_id(index), index=index)
            for index, call_id in sorted(self._call_ids.items())
            if call_id is None
        ]
        name = str(self._reply.get("model") or self.model_name)
        return AIMessageChunk(
            content="",
            tool_call_chunks=missing,
            usage_metadata=usage_metadata_v2(usage),
            response_metadata=_metadata(self._reply, self._choice, name, self._request_id),
            id=reply_id,
            chunk_position="last",
        )
