"""The v2 dialect (OpenAI-compatible, ``POST /v2/chat/completions``, ``protocol-v2.md``):
lower-case model ids, OpenAI's ``tools`` and every ``tool_choice`` natively, ``system`` as the
first system message, OpenAI's ``response_format`` objects (``json_schema`` included).

The key field is the API key (``bce-v3/ALTAK-...``, sent as a Bearer token); ``secret_key`` is
not used. ``max_tokens`` / ``user_id`` are sent as ``max_tokens`` / ``user`` (v1's per-call
``max_output_tokens`` / ``user_id`` are renamed too). The reply and stream chunks are
converted by :mod:`._convert_v2` (:class:`~._convert_v2.StreamConverterV2`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.outputs import ChatGenerationChunk

from .._protocol import wire
from ._call import Call, with_community_fields
from ._convert_v2 import (
    StreamConverterV2,
    community_kwargs_v2,
    convert_messages_v2,
    convert_response_v2,
)
from ._dialect import Dialect, definition_tokens
from ._tools import convert_to_qianfan_tool, convert_tool_choice_v2

if TYPE_CHECKING:
    from langchain_core.language_models.model_profile import ModelProfile
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

    from .. import QfResponse
    from .chat_models import QianfanChatEndpoint


def response_format_v2(value: Any) -> Any:
    """v2 takes OpenAI's ``{"type": ...}``; v1's bare string is accepted too."""
    return {"type": value} if isinstance(value, str) else value


class V2ChunkDecoder:
    """v2 stream chunks through one :class:`~._convert_v2.StreamConverterV2` per call: chunks
    that carry nothing yield nothing, and a stream without a usage chunk gets a last chunk."""

    def __init__(self, call: Call) -> None:
        self.converter = StreamConverterV2(model_name=call.model_name)

    def chunk(self, chunk: QfResponse) -> ChatGenerationChunk | None:
        return self._generation(self.converter.convert(chunk.body, chunk.request_id))

    def end(self) -> ChatGenerationChunk | None:
        return self._generation(self.converter.finish())

    def _generation(self, message: AIMessageChunk | None) -> ChatGenerationChunk | None:
        if message is None:
            return None
        if message.chunk_position == "last":  # the community class's fields, counted once
            converter = self.converter
            with_community_fields(message, converter.community_kwargs(), converter.token_usage)
        return ChatGenerationChunk(message=message)


class V2Dialect(Dialect):
    api_version = "v2"
    key_variable = "QIANFAN_API_KEY"  # the key field holds an API key
    attributes: ClassVar[Mapping[str, Any]] = {"api_version": "v2"}
    max_tokens_param = "max_tokens"
    user_param = "user"
    openai_formats = True

    def credentials(
        self, key: str | None, secret: str | None, given: Set[str]
    ) -> dict[str, str | None]:
        # A key given to the model, or one that is a v2 key, is the API key; an App key read
        # from QIANFAN_AK is not, and then the resolver reads QIANFAN_API_KEY (or IAM keys).
        if key and ("qianfan_ak" in given or wire.is_v2_key(key)):
            return {"api_key": key}
        return {}

    def check(self, chat: QianfanChatEndpoint) -> None:
        from .._protocol.models_v2 import v2_model

        model = chat.model
        if model is not None and v2_model(model) is None and v2_model(model.lower()):
            # v2 matches ids exactly; a v1 spelling is never a v2 model (protocol-v2.md).
            raise ValueError(
                f"model {model!r} is not a v2 model id: v2 ids are lower case, "
                f"use {model.lower()!r}"
            )
        if "qianfan_sk" in chat.model_fields_set and chat.qianfan_sk is not None:
            warnings.warn(
                "secret_key is a v1 App Secret Key and the v2 API does not use it (v2 takes "
                "an API key, or IAM keys as init_kwargs access_key / secret_key)",
                UserWarning,
                stacklevel=3,
            )

    @property
    def default_model(self) -> str:
        from .._protocol.models_v2 import DEFAULT_V2_MODEL

        return DEFAULT_V2_MODEL

    def route(self, model: str | None, endpoint: str | None) -> dict[str, str | None]:
        return {"model": model or endpoint}  # a service's API name is sent as the model

    def profile(self, model: str | None, endpoint: str | None) -> ModelProfile | None:
        from .._protocol.models_v2 import family_hint

        spec = family_hint(self.model_name(model, endpoint))
        if spec is None:  # a deployed service: nothing is known about it
            return None
        return {
            "text_inputs": True,
            "image_inputs": spec.vision,
            "image_url_inputs": spec.vision,
            "audio_inputs": False,
            "pdf_inputs": False,
            "video_inputs": False,
            "text_outputs": True,
            "tool_calling": spec.function_calling,
            "tool_choice": spec.function_calling,
            "tool_call_streaming": spec.function_calling,
            "structured_output": spec.function_calling,
            "reasoning_output": spec.can_reason,
            "max_input_tokens": spec.context_tokens,
            **({"max_output_tokens": spec.max_output_tokens} if spec.max_output_tokens else {}),
        }

    def _build(
        self,
        chat: QianfanChatEndpoint,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        call: dict[str, Any],
        options: dict[str, Any],
    ) -> Call:
        """OpenAI's body, every choice sent natively (module docstring)."""
        model, endpoint = call.pop("model", None), call.pop("endpoint", None)
        model_name = model or endpoint or self.model_name(chat.model, chat.endpoint)
        tools = [convert_to_qianfan_tool(t) for t in call.pop("tools", None) or ()]
        tools += [convert_to_qianfan_tool(f) for f in call.pop("functions", None) or ()]
        tool_choice = call.pop("tool_choice", None)
        system = call.pop("system", chat.system)
        # v1 spellings, accepted per call so that code written for v1 keeps working.
        if "max_output_tokens" in call:
            call.setdefault("max_tokens", call.pop("max_output_tokens"))
        if "user_id" in call:
            call.setdefault("user", call.pop("user_id"))
        params = self.params(chat, call, stop)
        if "response_format" in params:
            params["response_format"] = response_format_v2(params["response_format"])
        if tools:
            params["tools"] = tools
            names = [t["function"]["name"] for t in tools]
            params["tool_choice"] = convert_tool_choice_v2(tool_choice, names)
        if chat.thinking is not None:  # the client turns it into the family's switch
            params.setdefault("thinking", chat.thinking)
        if chat.web_search is not None:
            params.setdefault("web_search", chat.web_search)
        params = {k: v for k, v in params.items() if v is not None}
        from .._protocol.models_v2 import family_hint

        spec = family_hint(model_name)
        interleaved = bool(spec and spec.interleaved)
        v2_messages = convert_messages_v2(messages, system=system, interleaved=interleaved)
        options["model"] = model_name
        return Call(v2_messages, {**params, **options}, model_name)

    def reply(
        self, body: Mapping[str, Any], *, model_name: str, request_id: str | None
    ) -> AIMessage:
        message = convert_response_v2(body, model_name=model_name, request_id=request_id)
        return with_community_fields(
            message, community_kwargs_v2(body, request_id), body.get("usage")
        )

    def decoder(self, call: Call) -> V2ChunkDecoder:
        return V2ChunkDecoder(call)

    def tool_definitions(
        self, tools: Sequence[Any], tool_choice: dict[str, Any] | str | bool | None
    ) -> list[dict[str, Any]]:
        definitions = [convert_to_qianfan_tool(t) for t in tools]
        names = [t["function"]["name"] for t in definitions]
        convert_tool_choice_v2(tool_choice, names)  # an unknown name fails now
        return definitions

    def num_tokens(
        self, messages: Sequence[BaseMessage], system: str | None, tools: Sequence[Any]
    ) -> int:
        from .._protocol.tokens import prompt_tokens

        definitions = [convert_to_qianfan_tool(t) for t in tools]
        count = prompt_tokens(convert_messages_v2(messages, system=system))
        return count + definition_tokens(definitions)
