"""``QianfanChatEndpoint``: a LangChain chat model over :class:`qianfan_chat.ChatCompletion`.

A thin adapter in the shape of the ``langchain-openai`` partner package: the message converters
are pure module-level functions (:mod:`._convert`, :mod:`._tools`), one payload builder
(:meth:`QianfanChatEndpoint._build_call`) feeds ``_generate``/``_agenerate``/``_stream``/
``_astream``, and everything about HTTP (auth, retries, timeouts, pooled connections, stream
decoding) stays in the client, built once on first use and reused.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import secret_from_env
from langchain_core.utils.utils import _build_model_kwargs, get_pydantic_field_names
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from ._convert import convert_chunk, convert_messages, convert_response
from ._tools import (
    ToolChoiceNotForcedWarning,
    choice_is_weakened,
    convert_to_qianfan_function,
    convert_tool_choice,
)

if TYPE_CHECKING:
    from langchain_core.language_models.model_profile import ModelProfile
    from langchain_core.tools import BaseTool

    from .._client import ChatCompletion
    from .._response import QfResponse

# v1 refuses temperature 0 (range (0, 1.0], protocol.md section 1); LangChain code asks for 0
# to mean "as deterministic as possible", which is this, the lowest value v1 accepts.
MIN_TEMPERATURE = 0.01

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
# ChatCompletion's constructor arguments that ``init_kwargs`` may set.
_CLIENT_ARGS = frozenset(
    {
        "ak",
        "sk",
        "access_token",
        "access_key",
        "secret_key",
        "base_url",
        "api_prefix",
        "api_path",
        "retry_count",
        "request_timeout",
        "backoff_factor",
        "http_client",
        "async_http_client",
    }
)


@dataclass(frozen=True, slots=True)
class _Call:
    """One prepared request: what ``do``/``ado`` get, and the model name to report."""

    messages: list[dict[str, Any]]
    kwargs: dict[str, Any]  # client options (model, endpoint, timeout, ...) and body params
    model_name: str


def _response_format(value: Any) -> Any:
    # v1 takes the bare string ("text" / "json_object"); accept OpenAI's {"type": ...} too.
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return value["type"]
    return value


def _result(message: AIMessage, model_name: str, usage: Any) -> ChatResult:
    return ChatResult(
        generations=[ChatGeneration(message=message)],
        llm_output={"token_usage": usage or {}, "model_name": model_name},
    )


def _result_from_chunks(chunks: list[ChatGenerationChunk]) -> ChatResult:
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
    return _result(message, str(chunk.response_metadata.get("model_name", "")), token_usage)


class QianfanChatEndpoint(BaseChatModel):
    """Baidu AI Cloud Qianfan chat models (v1 API) for LangChain.

    A drop-in for ``langchain_community.chat_models.QianfanChatEndpoint`` (same fields and
    aliases) built on :class:`qianfan_chat.ChatCompletion`, with native async, streaming with
    usage, tool calling and structured output.

    Example::

        from langchain_core.messages import HumanMessage
        from qianfan_chat.langchain import QianfanChatEndpoint

        chat = QianfanChatEndpoint(model="ERNIE-3.5-8K")   # QIANFAN_AK / QIANFAN_SK
        chat.invoke([HumanMessage("Hello")])
        for chunk in chat.stream("写一首诗", temperature=0.2):
            print(chunk.content, end="")

    Credentials: ``api_key`` / ``secret_key`` (fields ``qianfan_ak`` / ``qianfan_sk``), else
    ``QIANFAN_AK`` / ``QIANFAN_SK``, else whatever the client finds in the environment
    (``QIANFAN_ACCESS_TOKEN``, ``QIANFAN_ACCESS_KEY`` / ``QIANFAN_SECRET_KEY``). Missing
    credentials raise :class:`qianfan_chat.CredentialsError` at the first call.

    Sampling parameters left unset are not sent, so each model's own defaults apply.
    ``temperature=0`` is sent as ``0.01``: v1 refuses 0.
    """

    model_config = ConfigDict(populate_by_name=True)

    model: str | None = None
    """Model name from the model table (case-insensitive), e.g. ``"ERNIE-3.5-8K"``; None means
    the client's default (``ERNIE-Bot-turbo``). Ignored for routing when ``endpoint`` is set."""
    endpoint: str | None = None
    """A deployed service: requests go to ``/chat/{endpoint}``."""
    streaming: bool = False
    """Stream under the hood even for ``invoke`` (the answer is the same, aggregated)."""
    temperature: float | None = None
    """(0, 1.0]; 0 is sent as 0.01. Unset: the model's default."""
    top_p: float | None = None
    """[0, 1.0]. Unset: the model's default."""
    penalty_score: float | None = None
    """[1.0, 2.0]. Unset: the model's default."""
    max_tokens: int | None = None
    """Sent as ``max_output_tokens`` (newer ERNIE models)."""
    stop: list[str] | None = None
    """Stop strings, at most 4 of at most 20 characters (an empty list sends none)."""
    request_timeout: float | None = Field(default=None, alias="timeout")
    """Seconds; unset: the client's (``QIANFAN_LLM_API_RETRY_TIMEOUT`` or 60)."""
    max_retries: int | None = None
    """Retries after the first attempt (the client's ``retry_count``; unset: its default)."""
    qianfan_ak: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_AK", default=None), alias="api_key"
    )
    """App API Key (``QIANFAN_AK``)."""
    qianfan_sk: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_SK", default=None), alias="secret_key"
    )
    """App Secret Key (``QIANFAN_SK``)."""
    base_url: str | None = None
    """API base URL; unset: ``QIANFAN_BASE_URL`` or ``https://aip.baidubce.com``."""
    system: str | None = None
    """A persona sent as ``system``, before the conversation's own system messages."""
    user_id: str | None = None
    """The end user's id, for Baidu's abuse tracking."""
    init_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More arguments for :class:`qianfan_chat.ChatCompletion` (``access_token``,
    ``access_key``, ``secret_key``, ``api_prefix``, ``backoff_factor``, ``http_client``...)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More body parameters sent on every call (``disable_search``, ``top_k``...)."""

    _client: ChatCompletion | None = PrivateAttr(default=None)
    _client_args: dict[str, Any] = PrivateAttr(default_factory=dict)
    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # -- construction -----------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _extra_to_model_kwargs(cls, values: Any) -> Any:
        """Unknown constructor arguments become body parameters (``model_kwargs``), with a
        warning, as in ``langchain-openai``."""
        if isinstance(values, dict):
            return _build_model_kwargs(dict(values), get_pydantic_field_names(cls))
        return values

    @model_validator(mode="after")
    def _check_settings(self) -> QianfanChatEndpoint:
        if self.model is not None and not self.endpoint:
            from .._models import model_table

            model_table().resolve(self.model)  # an unknown name fails now, with close names
        unknown = sorted(set(self.init_kwargs) - _CLIENT_ARGS)
        if unknown:
            # The official SDK's own options (query_per_second, ...) mean nothing here.
            warnings.warn(
                f"init_kwargs {unknown} are not ChatCompletion arguments and are ignored",
                UserWarning,
                stacklevel=2,
            )
        return self

    @property
    def _llm_type(self) -> str:
        return "qianfan-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"qianfan_ak": "QIANFAN_AK", "qianfan_sk": "QIANFAN_SK"}

    def _resolve_model_profile(self) -> ModelProfile | None:
        if self.endpoint:
            return None
        from .._models import model_table

        spec = model_table().resolve(self.model)
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

    @property
    def _model_name(self) -> str:
        if self.model or self.endpoint:
            return self.model or str(self.endpoint)
        from .._models import model_table

        return model_table().default_model

    @property
    def _default_params(self) -> dict[str, Any]:
        """The body parameters this instance sends on every call (unset ones left out)."""
        params = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "penalty_score": self.penalty_score,
            "max_output_tokens": self.max_tokens,
            "stop": self.stop,
            "user_id": self.user_id,
            **self.model_kwargs,
        }
        return {k: v for k, v in params.items() if v is not None}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "endpoint": self.endpoint, **self._default_params}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model")
        params = LangSmithParams(
            ls_provider="qianfan",
            ls_model_name=model if isinstance(model, str) else self._model_name,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if isinstance(temperature, int | float):
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if isinstance(max_tokens, int):
            params["ls_max_tokens"] = max_tokens
        ls_stop = stop or kwargs.get("stop") or self.stop
        if ls_stop:
            params["ls_stop"] = list(ls_stop)
        return params

    # -- the client -------------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "endpoint": self.endpoint,
            "base_url": self.base_url,
            "retry_count": self.max_retries,
            "request_timeout": self.request_timeout,
        }
        ak = self.qianfan_ak.get_secret_value() if self.qianfan_ak else None
        sk = self.qianfan_sk.get_secret_value() if self.qianfan_sk else None
        # Keys given here (or both in the environment) are passed on; otherwise the client
        # reads the environment itself and finds a token or IAM keys too.
        if {"qianfan_ak", "qianfan_sk"} & self.model_fields_set or (ak and sk):
            kwargs.update(ak=ak, sk=sk)
        kwargs.update((k, v) for k, v in self.init_kwargs.items() if k in _CLIENT_ARGS)
        return kwargs

    @property
    def client(self) -> ChatCompletion:
        """The :class:`qianfan_chat.ChatCompletion` behind this model: made on first use and
        shared by every call (one connection pool). A copy with other settings
        (``model_copy(update=...)``) gets its own."""
        kwargs = self._client_kwargs()
        client = self._client
        if client is None or kwargs != self._client_args:
            with self._client_lock:
                client = self._client
                if client is None or kwargs != self._client_args:
                    from .._client import ChatCompletion

                    client = self._client = ChatCompletion(**kwargs)
                    self._client_args = kwargs
        return client

    # -- the one payload builder ------------------------------------------------------------

    def _build_call(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> _Call:
        """Everything one request sends, from the instance settings, ``model_kwargs`` and the
        per-call keywords (in that order of precedence, last wins)."""
        call = dict(kwargs)
        for key in _NOT_SENT:
            call.pop(key, None)
        options: dict[str, Any] = {}
        for key, target in _OPTION_ALIASES.items():
            if key in call:
                value = call.pop(key)
                if value is not None:
                    options[target] = value
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
        system = call.pop("system", self.system)
        if "max_tokens" in call:
            call["max_output_tokens"] = call.pop("max_tokens")
        params = {**self._default_params, **call}
        if stop is not None:
            params["stop"] = stop
        if not params.get("stop"):
            params.pop("stop", None)
        if params.get("temperature") == 0:
            params["temperature"] = MIN_TEMPERATURE
        if "response_format" in params:
            params["response_format"] = _response_format(params["response_format"])
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
        model_name = model or (None if endpoint else self.model) or endpoint or self._model_name
        return _Call(v1_messages, {**params, **options}, model_name)

    # -- sync -------------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("streaming", False):
            chunks = []
            for chunk in self._stream(messages, stop, **kwargs):
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                chunks.append(chunk)
            return _result_from_chunks(chunks)
        call = self._build_call(messages, stop, kwargs)
        response: QfResponse = self.client.do(call.messages, **call.kwargs)
        return self._chat_result(response, call)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # LangChain's stream()/invoke() fire on_llm_new_token for each chunk yielded here.
        call = self._build_call(messages, stop, kwargs)
        with self.client.do(call.messages, stream=True, **call.kwargs) as stream:
            for chunk in stream:
                yield self._generation_chunk(chunk, call)

    # -- async (native: no thread) -----------------------------------------------------------

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("streaming", False):
            chunks = []
            async for chunk in self._astream(messages, stop, **kwargs):
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                chunks.append(chunk)
            return _result_from_chunks(chunks)
        call = self._build_call(messages, stop, kwargs)
        response: QfResponse = await self.client.ado(call.messages, **call.kwargs)
        return self._chat_result(response, call)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._build_call(messages, stop, kwargs)
        async with await self.client.ado(call.messages, stream=True, **call.kwargs) as stream:
            async for chunk in stream:
                yield self._generation_chunk(chunk, call)

    # -- replies ----------------------------------------------------------------------------

    @staticmethod
    def _chat_result(response: QfResponse, call: _Call) -> ChatResult:
        message = convert_response(
            response.body, model_name=call.model_name, request_id=response.request_id
        )
        return _result(message, call.model_name, response.body.get("usage"))

    @staticmethod
    def _generation_chunk(chunk: QfResponse, call: _Call) -> ChatGenerationChunk:
        message = convert_chunk(chunk.body, model_name=call.model_name, request_id=chunk.request_id)
        return ChatGenerationChunk(message=message)

    # -- tokens -----------------------------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Baidu's estimate (Chinese characters + words x 1.3), not a tokenizer."""
        from .._tokens import estimate_tokens

        return estimate_tokens(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """Baidu's estimate for the request these messages (and tools) become."""
        from .._tokens import estimate_tokens

        functions = [convert_to_qianfan_function(t) for t in tools or ()]
        system, v1_messages = convert_messages(
            messages, system=self.system, fold_system=bool(functions)
        )
        texts = [system or ""]
        for message in v1_messages:
            texts.append(message.get("content") or "")
            call = message.get("function_call")
            if call:
                texts.append(f"{call['name']} {call['arguments']}")
        if functions:
            texts.append(json.dumps(functions, ensure_ascii=False))
        return sum(estimate_tokens(t) for t in texts)

    # -- tools and structured output ---------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (sent as v1 ``functions``) and, optionally, a ``tool_choice``.

        ``tool_choice``: ``"auto"`` (default), ``"none"`` (functions are not sent), a tool name
        or ``{"type": "function", "function": {"name": ...}}`` (forces it), ``"any"`` /
        ``"required"`` / ``True`` (forces the tool when there is one; v1 cannot force a call
        among several tools, so with several the model chooses freely and a
        :class:`ToolChoiceNotForcedWarning` says so). ``strict`` is accepted for
        compatibility; v1 functions have no strict mode.
        """
        del strict  # v1 has no strict schema mode; nothing to send
        functions = [convert_to_qianfan_function(t) for t in tools]
        names = [f["name"] for f in functions]
        convert_tool_choice(tool_choice, names)  # an unknown name fails now, not at call time
        if choice_is_weakened(tool_choice, names):
            warnings.warn(
                f"tool_choice={tool_choice!r} with {len(names)} tools: the v1 API can only "
                "force one named function, so the model is free to answer without a call",
                ToolChoiceNotForcedWarning,
                stacklevel=2,
            )
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=functions, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A runnable that answers with ``schema`` (a Pydantic class, TypedDict or JSON Schema).

        * ``"function_calling"`` (default): the schema is a function, forced with
          ``tool_choice``; its arguments are the answer.
        * ``"json_schema"``: v1 has no JSON-schema response format, so this is the same
          forced function call (the mechanism v1 has that makes a reply follow a schema).
        * ``"json_mode"``: ``response_format="json_object"``; the prompt must ask for the
          keys. ``schema`` may be None (a dict is returned).

        ``strict`` is recorded but v1 has no strict mode; a Pydantic schema is validated by the
        parser. ``include_raw=True`` returns ``{"raw", "parsed", "parsing_error"}``.
        """
        if kwargs:
            raise ValueError(f"unsupported arguments {sorted(kwargs)}")
        from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
        from langchain_core.output_parsers.openai_tools import (
            JsonOutputKeyToolsParser,
            PydanticToolsParser,
        )
        from langchain_core.utils.pydantic import is_basemodel_subclass

        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        parser: Runnable[Any, Any]
        if method in ("function_calling", "json_schema"):
            if schema is None:
                raise ValueError(f"method={method!r} needs a schema")
            name = convert_to_qianfan_function(schema)["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=name,
                ls_structured_output_format={
                    "kwargs": {"method": method, "strict": strict},
                    "schema": schema,
                },
            )
            if is_pydantic:
                parser = PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
            else:
                parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        elif method == "json_mode":
            bound: dict[str, Any] = {"response_format": "json_object"}
            if schema is not None:
                bound["ls_structured_output_format"] = {
                    "kwargs": {"method": "json_mode"},
                    "schema": schema,
                }
            llm = self.bind(**bound)
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"unknown method {method!r}: use 'function_calling', 'json_mode' or 'json_schema'"
            )
        if not include_raw:
            return llm | parser
        from langchain_core.runnables import RunnableMap, RunnablePassthrough

        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        parse_none = RunnablePassthrough.assign(parsed=lambda _: None)
        with_fallback = parse.with_fallbacks([parse_none], exception_key="parsing_error")
        return RunnableMap(raw=llm) | with_fallback
