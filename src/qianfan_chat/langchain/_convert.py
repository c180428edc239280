"""Pure converters between LangChain messages and the v1 chat protocol. No I/O here.

Outgoing, :func:`convert_messages` turns any LangChain conversation into a body the v1 API
accepts (``protocol.md`` section 1: an odd number of messages alternating ``user`` (or
``function``) / ``assistant``, starting and ending on the user side, non-empty contents, one
``function_call`` per assistant turn, ``system`` apart). LangChain allows much more, so:

* **System messages** (anywhere) go to the ``system`` field, joined by a blank line, after the
  model's own ``system`` setting. v1 refuses ``system`` together with ``functions``: then the
  system text opens the first user turn instead (``fold_system=True``). A conversation with no
  user turn at all gets the system text as its user turn.
* **Roles**: ``HumanMessage`` → ``user``; ``AIMessage`` → ``assistant``; ``ToolMessage`` and
  ``FunctionMessage`` → ``function``; ``ChatMessage`` by its role.
* **Tool calls**: v1 carries one ``function_call`` per turn, so an ``AIMessage`` with N tool
  calls becomes N ``assistant``/``function`` pairs, each call followed by the ``ToolMessage``
  that answers it (found by ``tool_call_id``, wherever it is). A ``ToolMessage`` without a
  ``name`` takes the name of the call it answers. A call that no ``ToolMessage`` answers is not
  sent (v1 wants every ``function_call`` answered); the message's text still is. A
  ``ToolMessage`` that answers no call is sent as a ``function`` turn under its own name, or as
  user text when it has none.
* **Content** lists are flattened to text (text blocks joined by a newline); tool-use and
  reasoning blocks are dropped (tool calls travel in ``tool_calls``); images, audio, files and
  other media raise ``ValueError`` (v1 chat is text-only). Empty user and assistant turns are
  dropped; an empty tool result is sent as ``""`` (v1 refuses empty content).
* **Alternation**: adjacent turns of the same side are merged into one, contents joined by a
  blank line (a merged user-side turn keeps the first turn's role and name; merged assistant
  turns keep the first ``function_call``). Assistant turns before the first user turn or after
  the last one are dropped: v1 can neither open nor close on the assistant (there is no
  prefill), so a trailing AI message is answered again, as a retry.

Incoming, :func:`convert_response` and :func:`convert_chunk` turn a reply body or a stream
chunk into an ``AIMessage`` / ``AIMessageChunk``, with ``usage_metadata`` (only from a final
chunk: intermediate chunks carry zero or running counts), ``response_metadata`` and tool calls
whose ids are stable: ``call_{reply id}_{index}`` (v1 gives calls no id).
:func:`community_kwargs` is what langchain-community's ``QianfanChatEndpoint`` put in
``additional_kwargs`` for the same reply; the dialect adds it (see :mod:`._call`).
"""

from __future__ import annotations

import hashlib
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
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import (
    ToolCall,
    invalid_tool_call,
    tool_call,
    tool_call_chunk,
)

V1Message = dict[str, Any]

PROVIDER = "qianfan"
_JOIN = "\n\n"

# Content blocks that carry no text for the model: tool calls travel in ``tool_calls``,
# reasoning is the model's own and v1 has no field for it.
_SKIPPED_BLOCKS = frozenset(
    {
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
        "thinking",
        "redacted_thinking",
        "reasoning",
    }
)
_TEXT_BLOCKS = frozenset({"text", "text-plain"})
_ROLE_OF_CHAT_MESSAGE = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
    "function": "function",
    "tool": "function",
}

# Keys of a reply (or final chunk) copied into ``response_metadata`` when present.
_METADATA_KEYS = (
    "id",
    "object",
    "created",
    "finish_reason",
    "is_truncated",
    "need_clear_history",
    "ban_round",
    "search_info",
)


# -- outgoing: LangChain -> v1 ------------------------------------------------------------------


def content_to_text(content: str | Sequence[str | Mapping[str, Any]], *, api: str = "v1") -> str:
    """Flatten message content to the text v1 (and v2) accept.

    Strings and text blocks are kept (joined by a newline); tool-use and reasoning blocks are
    dropped; any other block (images, audio, files, ...) raises ``ValueError``, because the
    chat API (``api``: ``"v1"`` or ``"v2"``, named in the error) takes text only.
    """
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
            continue
        kind = block.get("type")
        if kind in _TEXT_BLOCKS:
            text = block.get("text")
            if isinstance(text, str):
                parts.append(text)
        elif kind not in _SKIPPED_BLOCKS:
            raise ValueError(
                f"content block of type {kind!r} is not supported: the Qianfan {api} chat API "
                "takes text only"
            )
    return "\n".join(p for p in parts if p)


def _function_call(call: ToolCall) -> dict[str, str]:
    return {"name": call["name"], "arguments": json.dumps(call["args"], ensure_ascii=False)}


def _tool_name(message: ToolMessage | FunctionMessage) -> str | None:
    name = message.name or message.additional_kwargs.get("name")
    return name if isinstance(name, str) and name else None


def _result_text(message: BaseMessage) -> str:
    text = content_to_text(message.content)
    return text if text else json.dumps(text)


def _turns(messages: Sequence[BaseMessage]) -> tuple[list[str], list[V1Message]]:
    """System texts, and the turns in order (before the alternation is enforced)."""
    answers: dict[str, ToolMessage] = {}
    for message in messages:
        if isinstance(message, ToolMessage):
            answers.setdefault(message.tool_call_id, message)
    used: set[int] = set()  # id() of the ToolMessages already sent after their call
    systems: list[str] = []
    turns: list[V1Message] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            systems.append(content_to_text(message.content))
        elif isinstance(message, HumanMessage):
            turns.append({"role": "user", "content": content_to_text(message.content)})
        elif isinstance(message, AIMessage):
            turns.extend(_assistant_turns(message, answers, used))
        elif isinstance(message, ToolMessage | FunctionMessage):
            if id(message) in used:
                continue
            name = _tool_name(message)
            if name is None:  # an orphan result without a name: only usable as text
                turns.append({"role": "user", "content": content_to_text(message.content)})
            else:
                turns.append({"role": "function", "name": name, "content": _result_text(message)})
        elif isinstance(message, ChatMessage):
            role = _ROLE_OF_CHAT_MESSAGE.get(message.role.lower())
            if role is None:
                raise ValueError(f"ChatMessage role {message.role!r} has no v1 equivalent")
            text = content_to_text(message.content)
            if role == "system":
                systems.append(text)
            elif role == "function":
                name = message.additional_kwargs.get("name")
                turn = {"role": "function", "name": name, "content": text or json.dumps(text)}
                turns.append(turn if name else {"role": "user", "content": text})
            else:
                turns.append({"role": role, "content": text})
        else:
            raise TypeError(f"cannot send a {type(message).__name__} to the Qianfan v1 chat API")
    return [s for s in systems if s], turns


def _assistant_turns(
    message: AIMessage, answers: Mapping[str, ToolMessage], used: set[int]
) -> list[V1Message]:
    text = content_to_text(message.content)
    turns: list[V1Message] = []
    if message.tool_calls:
        for call in message.tool_calls:
            answer = answers.get(call["id"]) if call["id"] is not None else None
            if answer is None or id(answer) in used:
                continue  # unanswered: v1 wants every function_call followed by its result
            used.add(id(answer))
            turns.append({"role": "assistant", "content": "" if turns else text, **_fc(call)})
            turns.append(
                {
                    "role": "function",
                    "name": _tool_name(answer) or call["name"],
                    "content": _result_text(answer),
                }
            )
    else:
        legacy = message.additional_kwargs.get("function_call")
        if isinstance(legacy, Mapping) and legacy.get("name"):
            # Legacy function calling (FunctionMessage replies): sent as it was received.
            arguments = legacy.get("arguments", "{}")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            call_dict = {"name": str(legacy["name"]), "arguments": arguments}
            return [{"role": "assistant", "content": text, "function_call": call_dict}]
    if not turns:
        turns.append({"role": "assistant", "content": text})
    return turns


def _fc(call: ToolCall) -> dict[str, Any]:
    return {"function_call": _function_call(call)}


def _side(turn: V1Message) -> str:
    return "assistant" if turn["role"] == "assistant" else "user"


def _merge(into: V1Message, turn: V1Message) -> None:
    into["content"] = _JOIN.join(t for t in (into["content"], turn["content"]) if t)
    if "function_call" in turn and "function_call" not in into:
        into["function_call"] = turn["function_call"]


def _is_empty(turn: V1Message) -> bool:
    return not turn["content"].strip() and "function_call" not in turn


def convert_messages(
    messages: Sequence[BaseMessage], *, system: str | None = None, fold_system: bool = False
) -> tuple[str | None, list[V1Message]]:
    """``(system, messages)`` for a v1 body from a LangChain conversation (rules above).

    ``system`` is the model's own persona, placed before the conversation's system messages;
    ``fold_system=True`` (the request has ``functions``) moves the system text into the first
    user turn. Raises ``ValueError`` when nothing is left to answer.

    >>> convert_messages([SystemMessage("Be brief."), HumanMessage("Hi")])
    ('Be brief.', [{'role': 'user', 'content': 'Hi'}])
    """
    systems, turns = _turns(messages)
    system_text = _JOIN.join(s for s in (system, *systems) if s) or None
    turns = [t for t in turns if not _is_empty(t)]
    if system_text and (fold_system or not any(_side(t) == "user" for t in turns)):
        turns.insert(0, {"role": "user", "content": system_text})
        system_text = None
    out: list[V1Message] = []
    for turn in turns:
        if out and _side(out[-1]) == _side(turn):
            _merge(out[-1], turn)
        else:
            out.append(dict(turn))
    while out and out[0]["role"] == "assistant":
        out.pop(0)
    while out and out[-1]["role"] == "assistant":
        out.pop()
    if not out:
        raise ValueError("no message to answer: a v1 conversation needs a user message")
    return system_text, out


# -- incoming: v1 -> LangChain ------------------------------------------------------------------


def tool_call_id(reply_id: str | None, index: int, name: str = "", arguments: str = "") -> str:
    """A stable id for the ``index``-th call of a reply (v1 gives calls no id):
    ``call_{reply id}_{index}``, or a hash of the call when the reply has no id either."""
    if reply_id:
        return f"call_{reply_id}_{index}"
    digest = hashlib.sha256(f"{name}\x00{arguments}".encode()).hexdigest()[:24]
    return f"call_{digest}_{index}"


def usage_metadata(usage: Any) -> UsageMetadata | None:
    """LangChain usage from a v1 ``usage`` object (``prompt_tokens``, ``completion_tokens``)."""
    if not isinstance(usage, Mapping):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or prompt + completion)
    return cast(
        "UsageMetadata",
        {"input_tokens": prompt, "output_tokens": completion, "total_tokens": total},
    )


def response_metadata(
    body: Mapping[str, Any], *, model_name: str, request_id: str | None
) -> dict[str, Any]:
    """``model_name``, ``model_provider``, the request id and the reply's own fields
    (``finish_reason``, ``need_clear_history``, ...) that are present."""
    meta: dict[str, Any] = {"model_name": model_name, "model_provider": PROVIDER}
    for key in _METADATA_KEYS:
        if body.get(key) is not None:
            meta[key] = body[key]
    if request_id:
        meta["request_id"] = request_id
    return meta


def _parsed_call(
    function_call: Mapping[str, Any], reply_id: str | None
) -> tuple[dict[str, Any], Any]:
    """``(call dict for additional_kwargs, ToolCall or InvalidToolCall)``."""
    name = str(function_call.get("name") or "")
    arguments = function_call.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    call_id = tool_call_id(reply_id, 0, name, arguments)
    raw = {**dict(function_call), "arguments": arguments}
    try:
        args = json.loads(arguments) if arguments.strip() else {}
    except ValueError as exc:
        return raw, invalid_tool_call(name=name, args=arguments, id=call_id, error=str(exc))
    if not isinstance(args, dict):
        error = "function_call.arguments is not a JSON object"
        return raw, invalid_tool_call(name=name, args=arguments, id=call_id, error=error)
    return raw, tool_call(name=name, args=args, id=call_id)


def convert_response(
    body: Mapping[str, Any], *, model_name: str, request_id: str | None = None
) -> AIMessage:
    """An ``AIMessage`` from a complete v1 reply body."""
    reply_id = body.get("id")
    reply_id = str(reply_id) if reply_id else None
    additional: dict[str, Any] = {}
    tool_calls: list[Any] = []
    invalid: list[Any] = []
    function_call = body.get("function_call")
    if isinstance(function_call, Mapping) and function_call.get("name"):
        raw, parsed = _parsed_call(function_call, reply_id)
        additional["function_call"] = raw
        (tool_calls if parsed.get("type") == "tool_call" else invalid).append(parsed)
    return AIMessage(
        content=body.get("result") or "",
        additional_kwargs=additional,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(body.get("usage")),
        response_metadata=response_metadata(body, model_name=model_name, request_id=request_id),
        id=reply_id,
    )


def community_kwargs(body: Mapping[str, Any], request_id: str | None = None) -> dict[str, Any]:
    """What langchain-community's ``QianfanChatEndpoint`` put in ``additional_kwargs`` for a
    v1 reply (or a stream's last chunk), with its defaults: ``finish_reason`` (``""``),
    ``request_id`` (the reply's ``id``, as it did; the HTTP request id when there is none),
    ``object`` (``""``), ``search_info`` (``[]``) and, for a function call, ``function_call``
    and ``tool_calls`` (OpenAI's shape, ``{type, function: {name, arguments}, id}``, with the
    id of the message's tool call where it made up a uuid).

    >>> community_kwargs({"id": "as-1", "object": "chat.completion", "finish_reason": "normal"})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'finish_reason': 'normal', 'request_id': 'as-1', 'object': 'chat.completion',
     'search_info': []}
    """
    reply_id = str(body["id"]) if body.get("id") else None
    out: dict[str, Any] = {
        "finish_reason": body.get("finish_reason") or "",
        "request_id": reply_id or request_id or "",
        "object": body.get("object") or "",
        "search_info": body.get("search_info") or [],
    }
    function_call = body.get("function_call")
    if isinstance(function_call, Mapping) and function_call.get("name"):
        raw, parsed = _parsed_call(function_call, reply_id)
        out["function_call"] = raw
        call = {"name": raw["name"], "arguments": raw["arguments"]}
        out["tool_calls"] = [{"type": "function", "function": call, "id": parsed["id"]}]
    return out


def is_last_chunk(body: Mapping[str, Any]) -> bool:
    """The chunk that ends a v1 stream: ``is_end``, or the one carrying the function call."""
    return bool(body.get("is_end")) or bool(body.get("function_call"))


def convert_chunk(
    body: Mapping[str, Any], *, model_name: str, request_id: str | None = None
) -> AIMessageChunk:
    """An ``AIMessageChunk`` from one v1 stream chunk.

    Only the final chunk (:func:`is_last_chunk`) carries usage, the tool call, the response
    metadata and ``chunk_position="last"``, so that adding the chunks up counts everything once.
    """
    reply_id = body.get("id")
    reply_id = str(reply_id) if reply_id else None
    text = body.get("result") or ""
    if not is_last_chunk(body):
        return AIMessageChunk(
            content=text, response_metadata={"model_provider": PROVIDER}, id=reply_id
        )
    additional: dict[str, Any] = {}
    chunks = []
    function_call = body.get("function_call")
    if isinstance(function_call, Mapping) and function_call.get("name"):
        raw, parsed = _parsed_call(function_call, reply_id)
        additional["function_call"] = raw
        chunks.append(
            tool_call_chunk(name=parsed["name"], args=raw["arguments"], id=parsed["id"], index=0)
        )
    return AIMessageChunk(
        content=text,
        additional_kwargs=additional,
        tool_call_chunks=chunks,
        usage_metadata=usage_metadata(body.get("usage")),
        response_metadata=response_metadata(body, model_name=model_name, request_id=request_id),
        id=reply_id,
        chunk_position="last",
    )
