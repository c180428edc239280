"""The v1 dialect (``protocol.md`` section 1): ERNIE model names routed by the model table,
``functions`` for tools, ``system`` as a body field, bare-string ``response_format``.

The key fields are the App API Key / Secret Key pair (``QIANFAN_AK`` / ``QIANFAN_SK``).
``tool_choice`` can only force one named function (:func:`~._tools.convert_tool_choice`;
``bind_tools`` warns when a choice is weakened); ``max_tokens`` is sent as
``max_output_tokens``. The reply and stream chunks are converted by :mod:`._convert`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.outputs import ChatGenerationChunk

from ._call import Call, with_community_fields
from ._convert import community_kwargs, convert_chunk, convert_messages, convert_response
from ._dialect import Dialect, definition_tokens
from ._tools import (
    ToolChoiceNotForcedWarning,
    choice_is_weakened,
    convert_to_qianfan_function,
    convert_tool_choice,
)

if TYPE_CHECKING:
    from langchain_core.language_models.model_profile import ModelProfile
    from langchain_core.messages import AIMessage, BaseMessage

    from .. import QfResponse
    from .chat_models import QianfanChatEndpoint


def response_format(value: Any) -> Any:
    """v1 takes the bare string (``"text"`` / ``"json_object"``); OpenAI's ``{"type": ...}``
    is accepted too."""
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return value["type"]
    return value


class V1ChunkDecoder:
    """v1 stream chunks, one ``AIMessageChunk`` each (:func:`~._convert.convert_chunk`)."""

    def __init__(self, call: Call) -> None:
        self.call = call

    def chunk(self, chunk: QfResponse) -> ChatGenerationChunk | None:
        body, request_id = chunk.body, chunk.request_id
        message = convert_chunk(body, model_name=self.call.model_name, request_id=request_id)
        if message.chunk_position == "last":  # the community class's fields, counted once
            with_community_fields(message, community_kwargs(body, request_id), body.get("usage"))
        return ChatGenerationChunk(message=message)

    def end(self) -> ChatGenerationChunk | None:
        return None  # v1's last chunk (is_end) carries the usage itself


class V1Dialect(Dialect):
    api_version = "v1"
    key_variable = "QIANFAN_AK"
    attributes: ClassVar[Mapping[str, Any]] = {}
    max_tokens_param = "max_output_tokens"  # the newer ERNIE models' name
    user_param = "user_id"
    openai_formats = False

    def credentials(
        self, key: str | None, secret: str | None, given: Set[str]
    ) -> dict[str, str | None]:
        # Keys given to the model (or both in the environment) are passed on; otherwise the
        # resolver reads the environment itself and finds a token, IAM keys or a v2 key too.
        if {"qianfan_ak", "qianfan_sk"} & given or (key and secret):
            return {"ak": key, "sk": secret}
        return {}

    def check(self, chat: QianfanChatEndpoint) -> None:
        if chat.model is not None and not chat.endpoint:
            from .. import UnknownModelError
            from .._protocol.models_v1 import model_table

            table = model_table()
            if table.lookup(chat.model) is None:  # an unknown name fails now, with close names
                raise UnknownModelError(chat.model, table.close_names(chat.model))

    @property
    def default_model(self) -> str:
        from .._protocol.models_v1 import model_table

        return model_table().default_model

    def route(self, model: str | None, endpoint: str | None) -> dict[str, str | None]:
        return {"model": model, "endpoint": endpoint}

    def profile(self, model: str | None, endpoint: str | None) -> ModelProfile | None:
        if endpoint:
            return None
        from .._protocol.models_v1 import model_table

        spec = model_table().lookup(model)
        if spec is None:
            return None
        tools = "functions" in spec.optional
        profile: ModelProfile = {
            "text_inputs": True,
            "image_inputs": False,
            "audio_inputs": False,
            "pdf_inputs": False,
            "video_inputs": False,
            "text_outputs": True,
            "tool_calling": tools,
            "tool_choice": tools and "tool_choice" in spec.optional,
            "structured_output": tools,
        }
        if spec.max_input_tokens:
            profile["max_input_tokens"] = spec.max_input_tokens
        return profile

    def _build(
        self,
        chat: QianfanChatEndpoint,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        call: dict[str, Any],
        options: dict[str, Any],
    ) -> Call:
        model = call.pop("model", None)
        endpoint = call.pop("endpoint", None)
        if model is not None:
            options["model"] = model
        if endpoint is not None:
            options["endpoint"] = endpoint
        tools = call.pop("tools", None) or ()
        functions = [convert_to_qianfan_function(t) for t in tools]
        functions += list(call.pop("functions", None) or ())
        tool_choice = call.pop("tool_choice", None)
        system = call.pop("system", chat.system)
        if "max_tokens" in call:
            call["max_output_tokens"] = call.pop("max_tokens")
        params = self.params(chat, call, stop)
        if "response_format" in params:
            params["response_format"] = response_format(params["response_format"])
        if functions:
            choice = convert_tool_choice(tool_choice, [f["name"] for f in functions])
            if choice == "none":
                functions = []
            elif choice is not None:
                params["tool_choice"] = choice
        if functions:
            params["functions"] = functions
        system_text, v1_messages = convert_messages(
            messages, system=system, fold_system=bool(functions)
        )
        if system_text:
            params["system"] = system_text
        params = {k: v for k, v in params.items() if v is not None}
        model_name = (
            model
            or (None if endpoint else chat.model)
            or endpoint
            or self.model_name(chat.model, chat.endpoint)
        )
        return Call(v1_messages, {**params, **options}, model_name)

    def reply(
        self, body: Mapping[str, Any], *, model_name: str, request_id: str | None
    ) -> AIMessage:
        message = convert_response(body, model_name=model_name, request_id=request_id)
        return with_community_fields(message, community_kwargs(body, request_id), body.get("usage"))

    def decoder(self, call: Call) -> V1ChunkDecoder:
        return V1ChunkDecoder(call)

    def tool_definitions(
        self, tools: Sequence[Any], tool_choice: dict[str, Any] | str | bool | None
    ) -> list[dict[str, Any]]:
        functions = [convert_to_qianfan_function(t) for t in tools]
        names = [f["name"] for f in functions]
        convert_tool_choice(tool_choice, names)  # an unknown name fails now, not at call time
        if choice_is_weakened(tool_choice, names):
            warnings.warn(
                f"tool_choice={tool_choice!r} with {len(names)} tools: the v1 API can only "
                "force one named function, so the model is free to answer without a call",
                ToolChoiceNotForcedWarning,
                stacklevel=3,  # bind_tools' caller
            )
        return functions

    def num_tokens(
        self, messages: Sequence[BaseMessage], system: str | None, tools: Sequence[Any]
    ) -> int:
        from .._protocol.tokens import prompt_tokens

        definitions = [convert_to_qianfan_function(t) for t in tools]
        system_text, v1_messages = convert_messages(
            messages, system=system, fold_system=bool(definitions)
        )
        return prompt_tokens(v1_messages, system_text) + definition_tokens(definitions)
