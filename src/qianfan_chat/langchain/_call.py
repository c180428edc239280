"""One prepared request and what comes back, for either API version: the :class:`Call` a
dialect's payload builder makes, the per-call keywords split into body parameters and client
options, and the ``ChatResult`` built from a reply or from a stream's chunks. What differs by
version (the body, the reply and stream converters) is in the dialects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

# Per-call options that are the client's, not body parameters (LangChain spelling first).
_OPTION_ALIASES = {
    "request_timeout": "request_timeout",
    "timeout": "request_timeout",
    "max_retries": "retry_count",
    "retry_count": "retry_count",
    "backoff_factor": "backoff_factor",
    "request_id": "request_id",
}
# Per-call keys LangChain itself may pass along that are not for the wire.
_NOT_SENT = ("stream", "streaming", "ls_structured_output_format", "structured_output_format")


@dataclass(frozen=True, slots=True)
class Call:
    """One prepared request: what ``do``/``ado`` get, and the model name to report."""

    messages: list[dict[str, Any]]
    kwargs: dict[str, Any]  # client options (model, endpoint, timeout, ...) and body params
    model_name: str


def split_options(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(body parameters, client options)`` from per-call keywords, LangChain's own keys
    dropped."""
    call = dict(kwargs)
    for key in _NOT_SENT:
        call.pop(key, None)
    options: dict[str, Any] = {}
    for key, target in _OPTION_ALIASES.items():
        if key in call:
            value = call.pop(key)
            if value is not None:
                options[target] = value
    return call, options


def with_community_fields(
    message: AIMessage, kwargs: Mapping[str, Any], token_usage: Any
) -> AIMessage:
    """``message`` (a reply, or a stream's last chunk) with what langchain-community's
    ``QianfanChatEndpoint`` gave: its ``additional_kwargs`` (``kwargs``, from the version's
    ``community_kwargs``; a key the converter already set keeps the converter's value) and
    ``token_usage`` (the wire usage) in ``response_metadata`` beside ``model_name`` and
    ``finish_reason``, so a stream's chunks add up to what ``invoke`` returns.

    Set after the message is built, not passed to it: a chunk built with ``tool_calls`` in
    ``additional_kwargs`` but no ``tool_call_chunks`` of its own (v2's last chunk) would parse
    them into chunks again, and a stream's calls would be counted twice.
    """
    message.additional_kwargs = {**kwargs, **message.additional_kwargs}
    if isinstance(token_usage, Mapping):
        message.response_metadata = {"token_usage": dict(token_usage), **message.response_metadata}
    return message


def chat_result(message: AIMessage, model_name: str, usage: Any) -> ChatResult:
    return ChatResult(
        generations=[ChatGeneration(message=message)],
        llm_output={"token_usage": usage or {}, "model_name": model_name},
    )


def result_from_chunks(chunks: list[ChatGenerationChunk]) -> ChatResult:
    """Add the chunks of a stream up into one result (no thread, unlike LangChain's helper)."""
    if not chunks:
        raise ValueError("the stream returned no chunks")
    total = chunks[0] + chunks[1:] if len(chunks) > 1 else chunks[0]
    chunk = total.message
    assert isinstance(chunk, AIMessageChunk)
    message = AIMessage(
        content=chunk.content,
        additional_kwargs=chunk.additional_kwargs,
        tool_calls=chunk.tool_calls,
        invalid_tool_calls=chunk.invalid_tool_calls,
        usage_metadata=chunk.usage_metadata,
        response_metadata=chunk.response_metadata,
        id=chunk.id,
    )
    usage = chunk.usage_metadata
    token_usage = (
        {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
        }
        if usage
        else {}
    )
    return chat_result(message, str(chunk.response_metadata.get("model_name", "")), token_usage)
