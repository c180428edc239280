"""``QianfanChatEndpoint``: a LangChain chat model over :class:`qianfan_chat.ChatCompletion`.

A thin adapter in the shape of the ``langchain-openai`` partner package. This module has the
pydantic fields, their validators and LangChain's entry points (``_generate``/``_agenerate``/
``_stream``/``_astream``, ``bind_tools``, ``with_structured_output``, ``get_num_tokens*``...),
none of which tests the API version: they speak through ONE DIALECT OBJECT PER API VERSION
(:class:`~._dialect_v1.V1Dialect`, :class:`~._dialect_v2.V2Dialect`, interface in
:mod:`._dialect`), which builds the payload, converts replies and stream chunks, converts tools
and counts tokens with the pure converters (:mod:`._convert`, :mod:`._convert_v2`,
:mod:`._tools`). Everything about HTTP (auth, retries, timeouts, pooled connections, stream
decoding) stays in the client, built on first use and reused while the settings stay the same.

Settings come from the one resolver the client uses, :meth:`qianfan_chat.Settings.resolve`, fed
from the current fields (the key fields, ``api_version``, ``base_url``, ``max_retries``,
``timeout``, ``init_kwargs``) and the ``QIANFAN_*`` environment as it was when the model was
made. The resolved ``Settings.version`` chooses the dialect: ``"v2"`` when ``api_version="v2"``
or the key is a v2 API key (or the environment's only credential is one), else ``"v1"``, as the
client decides it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import secret_from_env
from langchain_core.utils.utils import _build_model_kwargs, get_pydantic_field_names
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from .. import InvalidRequestError, Settings
from .._protocol import wire
from ._blocks import register as _register_blocks
from ._call import result_from_chunks
from ._dialect import ApiVersion, Dialect
from ._dialect_v1 import V1Dialect
from ._dialect_v2 import V2Dialect

_register_blocks()  # message.content_blocks: standard reasoning, text + citations, tool calls

if TYPE_CHECKING:
    from langchain_core.language_models.model_profile import ModelProfile
    from langchain_core.tools import BaseTool

    from .. import ChatCompletion, QfResponse

# The dialect of each resolved ``Settings.version``.
_DIALECTS: dict[int, Dialect] = {1: V1Dialect(), 2: V2Dialect()}
_VERSIONS: dict[str, Literal[1, 2]] = {"v1": 1, "v2": 2}
# ``init_kwargs`` that are ``Settings.resolve`` arguments, and the ones ``ChatCompletion`` takes
# itself.
_SETTINGS_ARGS = frozenset(
    {
        "ak",
        "sk",
        "access_token",
        "access_key",
        "secret_key",
        "base_url",
        "api_prefix",
        "retry_count",
        "request_timeout",
        "backoff_factor",
        # v2 only: the application id header, the IAM endpoint that mints short-term keys.
        "appid",
        "iam_base_url",
    }
)
_CLIENT_ARGS = frozenset({"api_path", "http_client", "async_http_client"})
# What the version depends on (Settings.version_of): the credentials and an explicit version.
_VERSION_ARGS = ("ak", "sk", "access_token", "access_key", "secret_key", "api_key", "version")


def _qianfan_environment() -> dict[str, str]:
    """The ``QIANFAN_*`` values in effect (set in the process, the environment, ``.env``), as
    the model's settings read them: when it is made."""
    return Settings.environment()


class QianfanChatEndpoint(BaseChatModel):
    """Baidu AI Cloud Qianfan chat models (v1 and v2 APIs) for LangChain.

    A drop-in for ``langchain_community.chat_models.QianfanChatEndpoint`` (same fields and
    aliases) built on :class:`qianfan_chat.ChatCompletion`, with native async, streaming with
    usage, tool calling and structured output, over Qianfan's v1 API or its OpenAI-compatible
    v2 API.

    Example::

        from langchain_core.messages import HumanMessage
        from qianfan_chat.langchain import QianfanChatEndpoint

        chat = QianfanChatEndpoint(model="ERNIE-3.5-8K")   # QIANFAN_AK / QIANFAN_SK
        chat.invoke([HumanMessage("Hello")])
        for chunk in chat.stream("写一首诗", temperature=0.2):
            print(chunk.content, end="")

    Credentials: ``api_key`` / ``secret_key`` (fields ``qianfan_ak`` / ``qianfan_sk``), else
    ``QIANFAN_AK`` / ``QIANFAN_SK``, else whatever :meth:`qianfan_chat.Settings.resolve` finds
    in the environment the model was made in (``QIANFAN_ACCESS_TOKEN``, ``QIANFAN_ACCESS_KEY``
    / ``QIANFAN_SECRET_KEY``). Missing credentials raise :class:`qianfan_chat.CredentialsError`
    at the first call.

    Sampling parameters left unset are not sent, so each model's own defaults apply.
    ``temperature=0`` is sent as ``0.01``: v1 and v2 refuse 0.

    v2 (OpenAI-compatible)::

        chat = QianfanChatEndpoint(model="ernie-3.5-8k", api_key="bce-v3/ALTAK-...")
        chat.bind_tools([get_weather, get_time], tool_choice="any").invoke("北京天气和时间")

    It is chosen when ``api_version="v2"``, or by itself when the key is a v2 API key
    (``api_key`` starting with ``bce-v3/``, or ``QIANFAN_API_KEY`` / ``QIANFAN_BEARER_TOKEN``
    set and no v1 AK/SK, access token or credential argument). v2 models are lower-case ids (default
    ``ernie-lite-8k``, which has no function calling; ``ernie-3.5-8k``, ``ernie-4.0-8k``,
    ``ernie-4.5-turbo-32k``... do).
    """

    model_config = ConfigDict(populate_by_name=True)

    model: str | None = None
    """v1: a name from the model table (case-insensitive), e.g. ``"ERNIE-3.5-8K"``; None means
    the client's default (``ERNIE-Bot-turbo``); ignored for routing when ``endpoint`` is set.
    v2: a lower-case model id (``"ernie-3.5-8k"``) or a deployed service's API name; None means
    ``ernie-lite-8k``."""
    endpoint: str | None = None
    """v1: a deployed service: requests go to ``/chat/{endpoint}``. v2: the service's API name,
    sent as the model when ``model`` is not set."""
    api_version: ApiVersion | None = None
    """``"v1"`` or ``"v2"`` (OpenAI-compatible, ``/v2/chat/completions``). None: chosen from
    the credentials by :meth:`qianfan_chat.Settings.resolve`, as the client chooses
    (``resolved_api_version`` tells which)."""
    streaming: bool = False
    """Stream under the hood even for ``invoke`` (the answer is the same, aggregated)."""
    temperature: float | None = None
    """(0, 1.0]; 0 is sent as 0.01. Unset: the model's default."""
    top_p: float | None = None
    """[0, 1.0]. Unset: the model's default."""
    penalty_score: float | None = None
    """[1.0, 2.0]. Unset: the model's default."""
    max_tokens: int | None = None
    """v1: sent as ``max_output_tokens`` (newer ERNIE models). v2: sent as ``max_tokens``."""
    stop: list[str] | None = None
    """Stop strings, at most 4 of at most 20 characters (an empty list sends none)."""
    request_timeout: float | None = Field(default=None, alias="timeout")
    """Seconds; unset: the client's (``QIANFAN_LLM_API_RETRY_TIMEOUT`` or 60)."""
    max_retries: int | None = None
    """Retries after the first attempt (the client's ``retry_count``; unset: its default)."""
    qianfan_ak: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_AK", default=None), alias="api_key"
    )
    """v1: App API Key (``QIANFAN_AK``). v2: the API key (``bce-v3/ALTAK-...``), sent as a
    Bearer token; unset, the client reads ``QIANFAN_API_KEY`` / ``QIANFAN_BEARER_TOKEN`` (or
    IAM keys, ``QIANFAN_ACCESS_KEY`` / ``QIANFAN_SECRET_KEY``, which mint short-term keys)."""
    qianfan_sk: SecretStr | None = Field(
        default_factory=secret_from_env("QIANFAN_SK", default=None), alias="secret_key"
    )
    """App Secret Key (``QIANFAN_SK``); v1 only."""
    base_url: str | None = None
    """API base URL; unset: v1 ``QIANFAN_BASE_URL`` or ``https://aip.baidubce.com``, v2
    ``QIANFAN_CONSOLE_API_BASE_URL`` or ``https://qianfan.baidubce.com`` (no ``/v2``)."""
    system: str | None = None
    """A persona sent before the conversation's own system messages (v1: as ``system``; v2: as
    the first ``system`` message)."""
    user_id: str | None = None
    """The end user's id, for Baidu's abuse tracking (v1 ``user_id``, v2 ``user``)."""
    init_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More arguments for :class:`qianfan_chat.ChatCompletion` (``access_token``,
    ``access_key``, ``secret_key``, ``api_prefix``, ``backoff_factor``, ``http_client``, v2's
    ``appid`` and ``iam_base_url``...)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More body parameters sent on every call (``disable_search``, ``top_k``...)."""
    thinking: bool | int | str | None = None
    """v2: reasoning on or off (True/False), a budget in tokens, or an effort name
    (``"low"`` ... ``"max"``), sent as the model family's switch (``enable_thinking``,
    ``thinking_budget``, ``thinking: {"type": ...}``, ``reasoning_effort``). Unset: the
    model's default. A raw switch in ``model_kwargs`` or per call wins. Reasoning comes back
    as ``reasoning`` content blocks (``message.content_blocks``) and in
    ``additional_kwargs["reasoning_content"]``."""
    web_search: dict[str, Any] | None = None
    """v2: the ``web_search`` option (``{"enable": True, "enable_trace": True,
    "enable_citation": True, ...}``); results land in ``response_metadata["search_results"]``
    and citations as ``citation`` annotations on the text block."""

    _client: ChatCompletion | None = PrivateAttr(default=None)
    _client_args: dict[str, Any] = PrivateAttr(default_factory=dict)
    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _environment: dict[str, str] = PrivateAttr(default_factory=_qianfan_environment)
    _settings_cache: tuple[tuple[Any, ...], Settings] | None = PrivateAttr(default=None)

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
        self._dialect.check(self)
        unknown = sorted(set(self.init_kwargs) - _SETTINGS_ARGS - _CLIENT_ARGS)
        if unknown:
            # The official SDK's own options (query_per_second, ...) mean nothing here.
            warnings.warn(
                f"init_kwargs {unknown} are not ChatCompletion arguments and are ignored",
                UserWarning,
                stacklevel=2,
            )
        return self

    # -- the settings and the dialect -------------------------------------------------------

    def _settings_args(self) -> dict[str, Any]:
        """``Settings.resolve``'s arguments from the fields as they are now (they are
        assignable, and ``model_copy(update=...)`` runs no validator)."""
        key = self.qianfan_ak.get_secret_value() if self.qianfan_ak else None
        secret = self.qianfan_sk.get_secret_value() if self.qianfan_sk else None
        if self.api_version is not None:
            version: Literal[1, 2] | None = _VERSIONS[self.api_version]
        else:
            version = 2 if wire.is_v2_key(key) else None
        fields = {
            "version": version,
            "base_url": self.base_url,
            "retry_count": self.max_retries,
            "request_timeout": self.request_timeout,
        }
        args: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        # What the key fields stand for; while the version is open they mean what they mean
        # on v1, the default (an App AK/SK pair), and the resolver may still find v2 in the
        # environment.
        args.update(_DIALECTS[version or 1].credentials(key, secret, self.model_fields_set))
        args.update((k, v) for k, v in self.init_kwargs.items() if k in _SETTINGS_ARGS)
        return args

    def _fields_now(self) -> tuple[Any, ...]:
        """What :meth:`_settings_args` reads, as it is now: compared (cheaply, several times a
        call) against what the cached settings were made from."""
        return (
            self.qianfan_ak,
            self.qianfan_sk,
            self.api_version,
            self.base_url,
            self.max_retries,
            self.request_timeout,
            self.model_fields_set,
            self.init_kwargs,
        )

    def _settings(self) -> Settings:
        """The resolved settings, cached on the fields they come from (made anew when one
        changes). Raises :class:`qianfan_chat.InvalidRequestError` for a bad retry or timeout
        setting."""
        now = self._fields_now()
        cached = self._settings_cache
        if cached is None or cached[0] != now:
            args = self._settings_args()
            settings = Settings.resolve(**args, environ=self._environment)
            # Copies of the mutable parts: a later change to them must not change the key.
            key = (*now[:-2], frozenset(self.model_fields_set), dict(self.init_kwargs))
            cached = self._settings_cache = (key, settings)
        return cached[1]

    @property
    def _dialect(self) -> Dialect:
        """The dialect of the resolved API version: the one place the version is looked at."""
        try:
            version = self._settings().version
        except InvalidRequestError:
            # A bad retry or timeout setting stays an error of the first call (the client's);
            # the version, which depends on the credentials alone, is known all the same.
            args = self._settings_args()
            named = {k: args[k] for k in _VERSION_ARGS if k in args}
            version = Settings.version_of(**named, environ=self._environment)
        return _DIALECTS[version]

    @property
    def resolved_api_version(self) -> ApiVersion:
        """The API this model speaks: ``api_version``, or the one ``Settings.resolve`` picks
        from the credentials (the environment's as they were when the model was made)."""
        return self._dialect.api_version

    @property
    def _llm_type(self) -> str:
        return "qianfan-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"qianfan_ak": self._dialect.key_variable, "qianfan_sk": "QIANFAN_SK"}

    @property
    def lc_attributes(self) -> dict[str, Any]:
        return dict(self._dialect.attributes)

    def _resolve_model_profile(self) -> ModelProfile | None:
        return self._dialect.profile(self.model, self.endpoint)

    @property
    def _model_name(self) -> str:
        return self._dialect.model_name(self.model, self.endpoint)

    @property
    def _default_params(self) -> dict[str, Any]:
        """The body parameters this instance sends on every call (unset ones left out), under
        the API version's names."""
        return self._dialect.default_params(self)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        dialect = self._dialect
        params = {"model": self.model, "endpoint": self.endpoint}
        return {**params, **dialect.default_params(self), **dialect.attributes}

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
        kwargs: dict[str, Any] = self._dialect.route(self.model, self.endpoint)
        kwargs.update((k, v) for k, v in self.init_kwargs.items() if k in _CLIENT_ARGS)
        kwargs["settings"] = self._settings()
        return kwargs

    @property
    def client(self) -> ChatCompletion:
        """The :class:`qianfan_chat.ChatCompletion` behind this model: made on first use and
        shared by every call (one connection pool); made anew when a setting changes (a copy
        with other settings, ``model_copy(update=...)``, gets its own)."""
        kwargs = self._client_kwargs()
        client = self._client
        if client is None or kwargs != self._client_args:
            with self._client_lock:
                client = self._client
                if client is None or kwargs != self._client_args:
                    from .. import ChatCompletion

                    client = self._client = ChatCompletion(**kwargs)
                    self._client_args = kwargs
        return client

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
            return result_from_chunks(chunks)
        dialect = self._dialect
        call = dialect.build_call(self, messages, stop, kwargs)
        response: QfResponse = self.client.do(call.messages, **call.kwargs)
        return dialect.result(response, call)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # LangChain's stream()/invoke() fire on_llm_new_token for each chunk yielded here.
        dialect = self._dialect
        call = dialect.build_call(self, messages, stop, kwargs)
        decoder = dialect.decoder(call)
        with self.client.do(call.messages, stream=True, **call.kwargs) as stream:
            for chunk in stream:
                generation = decoder.chunk(chunk)
                if generation is not None:
                    yield generation
        last = decoder.end()
        if last is not None:
            yield last

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
            return result_from_chunks(chunks)
        dialect = self._dialect
        call = dialect.build_call(self, messages, stop, kwargs)
        response: QfResponse = await self.client.ado(call.messages, **call.kwargs)
        return dialect.result(response, call)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        dialect = self._dialect
        call = dialect.build_call(self, messages, stop, kwargs)
        decoder = dialect.decoder(call)
        async with await self.client.ado(call.messages, stream=True, **call.kwargs) as stream:
            async for chunk in stream:
                generation = decoder.chunk(chunk)
                if generation is not None:
                    yield generation
        last = decoder.end()
        if last is not None:
            yield last

    # -- tokens -----------------------------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Baidu's estimate (Chinese characters + words x 1.3), not a tokenizer."""
        from .._protocol.tokens import estimate_tokens

        return estimate_tokens(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """Baidu's estimate for the request these messages become, as the server counts its
        prompt (:func:`qianfan_chat._protocol.tokens.prompt_tokens`), plus the tool
        definitions' JSON when ``tools`` are given."""
        return self._dialect.num_tokens(messages, self.system, tools or ())

    # -- tools and structured output ---------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools and, optionally, a ``tool_choice``.

        v2: the tools go as OpenAI's ``tools`` and every ``tool_choice`` natively: ``"auto"``,
        ``"none"``, ``"any"`` / ``"required"`` / ``True`` (sent as ``"required"``: some call,
        among all the tools), a tool name or ``{"type": "function", "function": {"name": ...}}``
        (forces it).

        v1: the tools go as ``functions``. ``tool_choice``: ``"auto"`` (default), ``"none"``
        (functions are not sent), a tool name or ``{"type": "function", "function": {"name":
        ...}}`` (forces it), ``"any"`` / ``"required"`` / ``True`` (forces the tool when there
        is one; v1 cannot force a call among several tools, so with several the model chooses
        freely and a :class:`ToolChoiceNotForcedWarning` says so).

        ``strict`` is accepted for compatibility and not sent: neither API documents a strict
        mode for functions. An unknown tool name in ``tool_choice`` raises ``ValueError`` now.
        """
        del strict  # no strict function mode in v1 or v2 (protocol.md, protocol-v2.md)
        definitions = self._dialect.tool_definitions(tools, tool_choice)
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=definitions, **kwargs)

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

        * ``"function_calling"`` (default): the schema is a tool, forced by name; its arguments
          are the answer.
        * ``"json_schema"``: v2 sends ``response_format={"type": "json_schema", "json_schema":
          {"name", "schema", "strict"?}}`` and parses the text. v1 has no JSON-schema response
          format, so there it is the same forced function call as ``"function_calling"``.
        * ``"json_mode"``: ``response_format`` JSON object (v2 ``{"type": "json_object"}``, v1
          ``"json_object"``); the prompt must ask for the keys. ``schema`` may be None (a dict
          is returned).

        ``strict`` is sent in v2's ``json_schema`` only (functions have no strict mode); a
        Pydantic schema is validated by the parser. ``include_raw=True`` returns ``{"raw",
        "parsed", "parsing_error"}``.
        """
        if kwargs:
            raise ValueError(f"unsupported arguments {sorted(kwargs)}")
        from ._structured import structured_output

        return structured_output(
            schema,
            method=method,
            include_raw=include_raw,
            strict=strict,
            v2=self._dialect.openai_formats,
            bind_tools=self.bind_tools,
            bind=self.bind,
        )
