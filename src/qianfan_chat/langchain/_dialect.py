"""What ``QianfanChatEndpoint`` does differently on each API version, behind one interface.

A :class:`Dialect` carries everything that differs between v1 (:class:`~._dialect_v1.V1Dialect`,
``protocol.md``) and v2 (:class:`~._dialect_v2.V2Dialect`, OpenAI-compatible,
``protocol-v2.md``): what the key fields mean as credentials, the construction checks, the
default model and its profile, the body parameters' names, the payload builder (messages, tools,
``tool_choice``, ``response_format``), the reply and stream converters, ``bind_tools``'
conversion, the prompt-token count and the serialization names. The model picks one from its
resolved settings (``qianfan_chat.Settings.version``) and never tests the version itself.

Dialects hold no state (one instance each serves every model); they read the model's fields
and call the pure converters (:mod:`._convert`, :mod:`._convert_v2`, :mod:`._tools`). This
module has the interface and what both versions share.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from ._call import Call, chat_result, split_options

if TYPE_CHECKING:
    from langchain_core.language_models.model_profile import ModelProfile
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.outputs import ChatGenerationChunk, ChatResult

    from .. import QfResponse
    from .chat_models import QianfanChatEndpoint

ApiVersion = Literal["v1", "v2"]

# v1 and v2 refuse temperature 0 (range (0, 1.0], protocol.md section 1, protocol-v2.md);
# LangChain code asks for 0 to mean "as deterministic as possible", which is this, the lowest
# value they accept.
MIN_TEMPERATURE = 0.01


class ChunkDecoder(Protocol):
    """Stream chunks (``QfResponse``) to ``ChatGenerationChunk``\\ s for one call: the one
    object the sync and the async stream loops share."""

    def chunk(self, chunk: QfResponse) -> ChatGenerationChunk | None:
        """The generation for one chunk (None: nothing to yield for it)."""
        ...

    def end(self) -> ChatGenerationChunk | None:
        """A last chunk of the decoder's own, when the stream did not end with one."""
        ...


class Dialect(ABC):
    """One API version, as the LangChain model speaks it."""

    api_version: ClassVar[ApiVersion]
    key_variable: ClassVar[str]
    """The environment variable of the key field (``qianfan_ak``), for ``lc_secrets``."""
    attributes: ClassVar[Mapping[str, Any]]
    """Added to ``lc_attributes`` and the identifying params: a model that chose v2 by itself
    stays v2 when loaded, whatever its key looks like."""
    max_tokens_param: ClassVar[str]
    """The body name ``max_tokens`` is sent under."""
    user_param: ClassVar[str]
    """The body name ``user_id`` is sent under."""
    openai_formats: ClassVar[bool]
    """``response_format`` as OpenAI's objects, ``json_schema`` included (v2), or v1's bare
    strings with no JSON-schema format (structured output forces a function instead)."""

    # -- settings and construction -----------------------------------------------------------

    @abstractmethod
    def credentials(
        self, key: str | None, secret: str | None, given: Set[str]
    ) -> dict[str, str | None]:
        """The ``Settings.resolve`` credential arguments the key fields stand for (``key``:
        ``qianfan_ak``, ``secret``: ``qianfan_sk``, ``given``: the fields set by the caller).
        None of them: the resolver reads the environment's credentials itself."""

    @abstractmethod
    def check(self, chat: QianfanChatEndpoint) -> None:
        """This version's construction checks (the model name, settings it does not use)."""

    @property
    @abstractmethod
    def default_model(self) -> str:
        """The model a request names when neither ``model`` nor ``endpoint`` is set."""

    def model_name(self, model: str | None, endpoint: str | None) -> str:
        """The model a request goes to, as reported (LangSmith, ``model_name``)."""
        return model or endpoint or self.default_model

    @abstractmethod
    def route(self, model: str | None, endpoint: str | None) -> dict[str, str | None]:
        """``ChatCompletion``'s ``model`` / ``endpoint`` arguments."""

    @abstractmethod
    def profile(self, model: str | None, endpoint: str | None) -> ModelProfile | None:
        """What the model can do (None: unknown, e.g. a deployed service)."""

    # -- requests ------------------------------------------------------------------------------

    def default_params(self, chat: QianfanChatEndpoint) -> dict[str, Any]:
        """The body parameters the model sends on every call (unset ones left out), under this
        version's names."""
        params = {
            "temperature": chat.temperature,
            "top_p": chat.top_p,
            "penalty_score": chat.penalty_score,
            self.max_tokens_param: chat.max_tokens,
            "stop": chat.stop,
            self.user_param: chat.user_id,
            **chat.model_kwargs,
        }
        return {k: v for k, v in params.items() if v is not None}

    def params(
        self, chat: QianfanChatEndpoint, call: Mapping[str, Any], stop: list[str] | None
    ) -> dict[str, Any]:
        """The model's parameters, then the call's; ``stop`` and ``temperature=0`` fixed."""
        params = {**self.default_params(chat), **call}
        if stop is not None:
            params["stop"] = stop
        if not params.get("stop"):
            params.pop("stop", None)
        if params.get("temperature") == 0:
            params["temperature"] = MIN_TEMPERATURE
        return params

    def build_call(
        self,
        chat: QianfanChatEndpoint,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        kwargs: Mapping[str, Any],
    ) -> Call:
        """Everything one request sends, from the model's settings, ``model_kwargs`` and the
        per-call keywords (in that order of precedence, last wins)."""
        call, options = split_options(kwargs)
        return self._build(chat, messages, stop, call, options)

    @abstractmethod
    def _build(
        self,
        chat: QianfanChatEndpoint,
        messages: Sequence[BaseMessage],
        stop: list[str] | None,
        call: dict[str, Any],
        options: dict[str, Any],
    ) -> Call:
        """The request from the per-call body parameters (``call``) and client ``options``."""

    # -- replies -------------------------------------------------------------------------------

    @abstractmethod
    def reply(
        self, body: Mapping[str, Any], *, model_name: str, request_id: str | None
    ) -> AIMessage:
        """An ``AIMessage`` from a complete reply body."""

    def result(self, response: QfResponse, call: Call) -> ChatResult:
        message = self.reply(
            response.body, model_name=call.model_name, request_id=response.request_id
        )
        model_name = str(message.response_metadata.get("model_name") or call.model_name)
        return chat_result(message, model_name, response.body.get("usage"))

    @abstractmethod
    def decoder(self, call: Call) -> ChunkDecoder:
        """A fresh stream decoder for one call."""

    # -- tools and tokens ----------------------------------------------------------------------

    @abstractmethod
    def tool_definitions(
        self, tools: Sequence[Any], tool_choice: dict[str, Any] | str | bool | None
    ) -> list[dict[str, Any]]:
        """``bind_tools``: the tools as this version sends them; an unknown name in
        ``tool_choice`` raises ``ValueError`` now, not at call time."""

    @abstractmethod
    def num_tokens(
        self, messages: Sequence[BaseMessage], system: str | None, tools: Sequence[Any]
    ) -> int:
        """Baidu's estimate for the prompt these messages become, as the server counts it
        (:func:`qianfan_chat._protocol.tokens.prompt_tokens`), plus the tool definitions."""


def definition_tokens(definitions: Sequence[Mapping[str, Any]]) -> int:
    """The estimate for tool definitions: their JSON, as sent."""
    from .._protocol.tokens import estimate_tokens

    return estimate_tokens(json.dumps(definitions, ensure_ascii=False)) if definitions else 0
