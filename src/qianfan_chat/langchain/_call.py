"""One prepared request and what comes back: the :class:`Call` the payload builder makes, the
per-call keywords split into body parameters and client options, the stream decoder both
stream loops share, and the ``ChatResult`` built from a reply or from a stream's chunks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ._convert import convert_chunk
from ._convert_v2 import StreamConverterV2

if TYPE_CHECKING:
    from .. import QfResponse

ApiVersion = Literal["v1", "v2"]

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
    api: ApiVersion = "v1"


class ChunkDecoder:
    """Stream chunks (``QfResponse``) to ``ChatGenerationChunk``\\ s for one call: the one
    object the sync and the async stream loops share."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.v2 = StreamConverterV2(model_name=call.model_name) if call.api == "v2" else None

    def chunk(self, chunk: QfResponse) -> ChatGenerationChunk | None:
        if self.v2 is None:
            message = convert_chunk(
                chunk.body, model_name=self.call.model_name, request_id=chunk.request_id
            )
        else:
            converted = self.v2.convert(chunk.body, chunk.request_id)
            if converted is None:
                return None
            message = converted
        return ChatGenerationChunk(message=message)

    def end(self) -> ChatGenerationChunk | None:
        """The last chunk when the stream did not send one (v2 only, see the converter)."""
        last = self.v2.finish() if self.v2 is not None else None
        return ChatGenerationChunk(message=last) if last is not None else None


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


def response_format(value: Any) -> Any:
    # v1 takes the bare string ("text" / "json_object"); accept OpenAI's {"type": ...} too.
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return value["type"]
    return value


def response_format_v2(value: Any) -> Any:
    # v2 takes OpenAI's {"type": ...}; accept v1's bare string too.
    return {"type": value} if isinstance(value, str) else value


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
