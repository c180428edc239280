"""``ChatCompletion``: the official SDK's chat surface (seed document 001), done right, for
Qianfan's v1 and v2 chat APIs.

The call logic lives in :mod:`._flow` (I/O-free); this module prepares a call (model
resolution, body, validation — all before the network) and performs the flow's actions with one
pooled ``httpx.Client`` (sync) or one ``httpx.AsyncClient`` per event loop (async).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import warnings
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from . import _v1, _v2
from ._config import ApiVersion, Credentials, Settings, check_call_options
from ._direct import SyncSender
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    CredentialsError,
    InvalidRequestError,
    QianfanError,
)
from ._flow import (
    NO_CREDENTIALS,
    Acquire,
    CallSpec,
    GetToken,
    OpenStream,
    Send,
    Sleep,
    auth_plan,
    call_flow,
    deadline_error,
    reply,
)
from ._logging import install_redaction, logger, redact
from ._response import QfResponse
from ._retry import RetryPolicy
from ._stream import (
    AsyncChatStream,
    ChatStream,
    ContinuedAsyncChatStream,
    ContinuedChatStream,
    abody_of,
    body_of,
)

if TYPE_CHECKING:
    import asyncio

    from ._batch import BatchRequestFuture
    from ._batches import Batches, Files
    from ._throttle import Budgets
    from ._transport import DirectSender
    from ._types import ModelInfo

# asyncio and concurrent.futures are imported where they are used, so that importing the client
# stays cheap for sync users (asyncio alone costs ~30 ms).
DEFAULT_BATCH_WORKERS = 8  # batch_do / abatch_do concurrency when worker_num is not given
TRUNCATED_CONTINUE_PROMPT = "继续"  # the SDK's default prompt to continue a truncated reply
# auto_concat_truncate asks at most this many times more (the SDK has no bound: a reply cut at
# a tiny max_output_tokens would loop for ever).
MAX_CONTINUATIONS = 16
# Baidu SDK per-call options that are not body fields: honoured here and never sent.
_SDK_NOOP = frozenset({"show_total_latency"})  # statistic always has total_latency
# Baidu SDK options this client does not implement: named in a warning, never sent.
_SDK_UNSUPPORTED = frozenset({"retry_jitter", "retry_err_codes", "retry_max_wait_interval"})


class UnsupportedOptionWarning(UserWarning):
    """An option of Baidu's SDK that this client does not implement; it is ignored (never
    sent to the server)."""


# The largest whole (non-stream) reply read: far above anything Qianfan sends (chat replies are
# kilobytes), so a broken or hostile peer cannot make the client buffer gigabytes.
MAX_REPLY_BYTES = 64 * 1024 * 1024

# Settings fixed at construction: assigning one later would be half-applied (auth plan, model
# route and pools are built from them), so it is refused.
_FIXED = frozenset(
    {
        "settings",
        "version",
        "base_url",
        "iam_base_url",
        "api_prefix",
        "appid",
        "retry_count",
        "request_timeout",
        "backoff_factor",
        "model",
        "endpoint",
        "api_path",
    }
)


def _connection_error(exc: httpx.HTTPError) -> APIConnectionError:
    # httpx's messages do not carry the URL, but redact anyway: nothing secret leaves here.
    detail = redact(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out ({type(exc).__name__}: {detail})")
    return APIConnectionError(f"connection failed ({type(exc).__name__}: {detail})")


def _not_a_stream(response: httpx.Response, statistic: dict[str, Any]) -> QianfanError:
    """A stream request answered with a whole JSON body: the typed error it carries."""
    try:
        reply(response, statistic)
    except QianfanError as exc:
        return exc
    ctype = response.headers.get("content-type", "")
    return APIError(f"expected an event stream, got {ctype!r}", status_code=response.status_code)


class _Received:
    """A whole reply read under a deadline: what the flow reads of a response."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: httpx.Headers, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


def _too_large(status: int, headers: Mapping[str, str]) -> APIError:
    return APIError(
        f"the reply is larger than the client's cap of {MAX_REPLY_BYTES} bytes",
        status_code=status,
        headers=headers,
    )


def _read_body(
    status: int, headers: Mapping[str, str], pieces: Iterable[bytes], deadline: float | None
) -> bytes:
    """A whole (non-stream) reply body: :class:`APIError` past ``MAX_REPLY_BYTES`` (by
    ``Content-Length`` before reading, else by counting), :class:`APITimeoutError` once the
    call's ``deadline`` has passed."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise _too_large(status, headers)
    chunks = []
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > MAX_REPLY_BYTES:
            raise _too_large(status, headers)
        chunks.append(piece)
        if deadline is not None and time.monotonic() > deadline:
            raise deadline_error(1)
    return b"".join(chunks)


async def _aexchange(opening: Any, action: Send) -> httpx.Response | _Received:
    """Open the response; a stream is returned open, a whole body read with the caps of
    :func:`_read_body`."""
    response: httpx.Response = await opening
    if action.stream:
        return response
    try:
        pieces = [piece async for piece in _capped(response, action.deadline)]
    finally:
        await response.aclose()
    return _Received(response.status_code, response.headers, b"".join(pieces))


async def _capped(response: httpx.Response, deadline: float | None) -> AsyncIterator[bytes]:
    status, headers = response.status_code, response.headers
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise _too_large(status, headers)
    size = 0
    async for piece in abody_of(response):
        size += len(piece)
        if size > MAX_REPLY_BYTES:
            raise _too_large(status, headers)
        yield piece
        if deadline is not None and time.monotonic() > deadline:
            raise deadline_error(1)


def _log_send(action: Send) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        url = httpx.URL(action.url, params=action.params)
        logger.debug("%s %s", action.method, redact(str(url)))


def _build_request(client: httpx.Client | httpx.AsyncClient, action: Send) -> httpx.Request:
    """The request for a caller's own client, built through its client layer."""
    return client.build_request(
        action.method,
        action.url,
        params=action.params,
        headers=action.headers,
        content=action.content,
        timeout=action.timeout,
    )


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


class _class_or_instance_method:
    """A method that works on the class and on its objects (the SDK's ``models()``)."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        functools.update_wrapper(self, function)  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: type | None = None) -> Callable[..., Any]:
        return functools.partial(self.function, obj if obj is not None else owner)


class ChatCompletion:
    """Chat with a Qianfan model through the v1 or the v2 (OpenAI-compatible) API.

    Example::

        import qianfan_chat as qianfan

        chat = qianfan.ChatCompletion()          # ERNIE-Bot-turbo; QIANFAN_AK / QIANFAN_SK
        resp = chat.do(messages=[{"role": "user", "content": "你好"}])
        print(resp["result"])

        for chunk in chat.do(messages=[...], model="ERNIE-Bot", stream=True):
            print(chunk["result"], end="")

    ``model`` is a name from the model table (case-insensitive); ``endpoint`` names a deployed
    service (``/chat/{endpoint}``); ``api_path`` is a full path used verbatim (private
    deployments). Credentials and settings come from the arguments or the ``QIANFAN_*``
    environment variables, read when the object is made.

    ``version=2`` speaks the OpenAI-compatible v2 API (``POST /v2/chat/completions`` with a
    bearer API key, ``api_key=`` or ``QIANFAN_API_KEY``; or IAM keys, which mint short-term API
    keys). Left unset, the version is 2 when the only credential is a v2 API key, else 1. v2
    models are lower-case ids (default ``ernie-lite-8k``); replies are OpenAI-shaped
    (``resp["choices"][0]["message"]``, ``resp.completion`` for typed access).

    v2 only, on the constructor (every call) or per call: ``thinking=`` (True/False, a budget
    in tokens, or an effort name such as ``"high"``) becomes the model family's switch
    (``enable_thinking``, ``thinking_budget``, ``thinking: {"type": ...}``,
    ``reasoning_effort``; raw fields still win); ``web_search={"enable": True, ...}`` asks for
    web search (``resp.completion.search_results``, ``.citations``). Content parts may carry
    images (``qianfan_chat.image_part("cat.png")``).
    """

    def __init__(
        self,
        model: str | None = None,
        endpoint: str | None = None,
        *,
        ak: str | None = None,
        sk: str | None = None,
        access_token: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        api_key: str | None = None,
        version: int | str | None = None,
        appid: str | None = None,
        base_url: str | None = None,
        iam_base_url: str | None = None,
        api_prefix: str | None = None,
        api_path: str | None = None,
        retry_count: int | None = None,
        request_timeout: float | None = None,
        backoff_factor: float | None = None,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        settings: Settings | None = None,
        stream: bool = False,
        query_per_second: float | None = None,
        request_per_minute: int | None = None,
        token_per_minute: int | None = None,
        learn_rate_limits: bool = True,
        rate_limit_redis_url: str | None = None,
        deadline: float | None = None,
        event_timeout: float | None = None,
        thinking: bool | int | str | None = None,
        web_search: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        given: dict[str, Any] = {
            "ak": ak,
            "sk": sk,
            "access_token": access_token,
            "access_key": access_key,
            "secret_key": secret_key,
            "api_key": api_key,
            "version": version,
            "appid": appid,
            "base_url": base_url,
            "iam_base_url": iam_base_url,
            "api_prefix": api_prefix,
            "retry_count": retry_count,
            "request_timeout": request_timeout,
            "backoff_factor": backoff_factor,
        }
        if settings is None:
            settings = Settings.resolve(**given)
        elif any(value is not None for value in given.values()):
            named = sorted(name for name, value in given.items() if value is not None)
            raise InvalidRequestError(
                "settings", f"pass settings= or the settings themselves, not both ({named})"
            )
        # Read through properties of the same names without the underscore, which refuse
        # assignment (see __setattr__).
        self._settings = settings
        self._model = model
        self._endpoint = endpoint
        self._api_path = api_path
        # The version's request builder, chosen once (v1 resolves the model now).
        self._requests: _v1.V1Requests | _v2.V2Requests = (
            _v2.V2Requests(settings, model, endpoint)
            if settings.version == 2
            else _v1.V1Requests(settings, model, endpoint, api_path)
        )
        if isinstance(http_client, httpx.AsyncClient):
            async_http_client, http_client = http_client, None
        self._user_client = http_client
        self._user_async_client = async_http_client
        # The default sync client and its direct road (made on the first sync call).
        self._direct: SyncSender | None = None
        # loop -> (its client, the generator that closes it when the loop shuts down)
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop,
            tuple[httpx.AsyncClient, AsyncGenerator[None], DirectSender],
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._auth = auth_plan(settings)
        self._stream = bool(stream)  # the SDK's constructor option: do() streams by default
        # v2 options every call gets unless it passes its own (see _v2._qianfan_options).
        self._call_defaults = {
            k: v for k, v in (("thinking", thinking), ("web_search", web_search)) if v is not None
        }
        if self._call_defaults and settings.version != 2:
            raise InvalidRequestError(
                "thinking" if thinking is not None else "web_search",
                "is a v2 option: make the client with version=2 (a v2 API key or IAM keys)",
            )
        _check_seconds("deadline", deadline)
        _check_seconds("event_timeout", event_timeout)
        self._deadline = deadline  # default overall bound of a call, seconds (None: none)
        self._event_timeout = event_timeout  # default bound on a stream's silence, seconds
        self._throttle = _throttle(query_per_second, request_per_minute, token_per_minute)
        self._budgets = _budgets(settings, self._throttle, learn_rate_limits, rate_limit_redis_url)
        for name in sorted(options):
            warnings.warn(
                f"ChatCompletion option {name!r} (Baidu's SDK) is not implemented here and is "
                "ignored",
                UnsupportedOptionWarning,
                stacklevel=2,
            )
        install_redaction()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIXED:
            raise AttributeError(
                f"ChatCompletion.{name} is fixed when the client is made (auth, routing and "
                f"pooled connections depend on it): make a new ChatCompletion({name}=...), or "
                "pass model= / endpoint= / request_timeout= ... to do() for one call"
            )
        object.__setattr__(self, name, value)

    @property
    def settings(self) -> Settings:
        """The resolved, frozen settings (credentials masked in ``repr``)."""
        return self._settings

    @property
    def version(self) -> ApiVersion:
        return self._settings.version

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def iam_base_url(self) -> str:
        return self._settings.iam_base_url

    @property
    def api_prefix(self) -> str:
        return self._settings.api_prefix

    @property
    def appid(self) -> str | None:
        return self._settings.appid

    @property
    def retry_count(self) -> int:
        return self._settings.retry_count

    @property
    def request_timeout(self) -> float:
        return self._settings.request_timeout

    @property
    def backoff_factor(self) -> float:
        return self._settings.backoff_factor

    @property
    def model(self) -> str | None:
        """The model given when the client was made (None: the default model)."""
        return self._model

    @property
    def endpoint(self) -> str | None:
        return self._endpoint

    @property
    def api_path(self) -> str | None:
        return self._api_path

    @property
    def _credentials(self) -> Credentials:
        return self._settings.credentials

    def __repr__(self) -> str:
        target = f"endpoint={self.endpoint!r}" if self.endpoint else f"model={self.model!r}"
        return (
            f"ChatCompletion({target}, version={self.version}, base_url={self.base_url!r}, "
            f"auth={self._settings.auth_mode!r})"
        )

    # -- preparing a call (pure) ------------------------------------------------------------

    def _calls(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None,
        endpoint: str | None,
        stream: bool,
        retry_count: int | None,
        request_timeout: float | None,
        request_id: str | None,
        backoff_factor: float | None,
        continue_prompt: str | None,
        truncate: bool,
        deadline: float | None,
        event_timeout: float | None,
        params: Mapping[str, Any],
    ) -> Generator[CallSpec, Any, Any]:
        """The calls one ``do`` makes, as a generator of specs that receives each result (the
        shells run them): one, or more while ``auto_concat_truncate`` continues a truncated
        reply. Pure: shared by ``do`` and ``ado``."""
        _check_seconds("deadline", deadline)
        _check_seconds("event_timeout", event_timeout)
        ends = None if deadline is None else time.monotonic() + deadline
        msgs, body_params = self._sdk_options(messages, params, model, endpoint, truncate)
        if stream:  # a stream is continued as it is read (do/ado wrap it)
            continue_prompt = None

        def spec(conversation: Any) -> CallSpec:
            return self._prepare(
                conversation,
                model=model,
                endpoint=endpoint,
                stream=stream,
                retry_count=retry_count,
                request_timeout=request_timeout,
                backoff_factor=backoff_factor,
                request_id=request_id,
                params=body_params,
                deadline=ends,
                event_timeout=event_timeout,
            )

        result = yield spec(msgs)
        if continue_prompt is None:
            return result
        pieces = [_reply_text(result.body)]
        while _is_truncated(result.body) and len(pieces) <= MAX_CONTINUATIONS:
            msgs = [
                *msgs,
                {"role": "assistant", "content": pieces[-1]},
                {"role": "user", "content": continue_prompt},
            ]
            result = yield spec(msgs)
            pieces.append(_reply_text(result.body))
        if len(pieces) > 1:
            _set_reply_text(result.body, "".join(pieces))
        return result

    def _sdk_options(
        self,
        messages: Iterable[Mapping[str, Any]],
        params: Mapping[str, Any],
        model: str | None,
        endpoint: str | None,
        truncate: bool,
    ) -> tuple[Any, dict[str, Any]]:
        """Apply the SDK's per-call options (none of them is sent) to the messages."""
        body = {**self._call_defaults, **params}
        for name in _SDK_NOOP & body.keys():
            del body[name]
        for name in sorted(_SDK_UNSUPPORTED & body.keys()):
            del body[name]
            warnings.warn(
                f"do() option {name!r} (Baidu's SDK) is not implemented here and is ignored",
                UnsupportedOptionWarning,
                stacklevel=5,
            )
        adapt = body.pop("adapt_openai_message_format", False)
        msgs: Any = messages
        if isinstance(messages, str | bytes | Mapping) or not (adapt or truncate):
            return msgs, body
        msgs = list(messages)
        if not all(isinstance(m, Mapping) for m in msgs):
            return msgs, body  # the validator names the bad item
        if adapt and not self._requests.system_messages:
            system = [str(m.get("content") or "") for m in msgs if m.get("role") == "system"]
            if system:
                msgs = [m for m in msgs if m.get("role") != "system"]
                body["system"] = "\n".join([*filter(None, [body.get("system")]), *system])
        if truncate:
            from ._protocol.rules_v1 import truncate_history

            msgs = truncate_history(msgs, self._requests.input_limit(model, endpoint))
        return msgs, body

    def _prepare(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None,
        endpoint: str | None,
        stream: bool,
        retry_count: int | None,
        request_timeout: float | None,
        backoff_factor: float | None,
        request_id: str | None,
        params: Mapping[str, Any],
        deadline: float | None = None,
        event_timeout: float | None = None,
    ) -> CallSpec:
        url, body, headers = self._requests.build(
            messages,
            params,
            model=model,
            endpoint=endpoint,
            stream=stream,
            request_id=request_id,
        )
        policy = RetryPolicy(
            self.retry_count if retry_count is None else retry_count,
            self.backoff_factor if backoff_factor is None else backoff_factor,
        )
        timeout = self.request_timeout if request_timeout is None else request_timeout
        check_call_options(policy.retry_count, timeout, policy.backoff_factor)
        budgets = self._budgets
        throttle = None if budgets is None else budgets.get(url, body.get("model"))
        return CallSpec(
            url=url,
            content=json.dumps(body, ensure_ascii=False).encode(),
            auth=self._auth,
            policy=policy,
            timeout=timeout,
            stream=stream,
            headers=headers,
            version=self.version,
            merge_usage=self._requests.merges_usage(params, stream),
            deadline=deadline,
            event_timeout=event_timeout,
            throttle=throttle,
            estimate=_estimate(body) if throttle is not None and throttle.active else 0,
        )

    # -- the sync shell ---------------------------------------------------------------------

    def _sync_sender(self) -> SyncSender:
        direct = self._direct
        if direct is None:
            with self._lock:
                direct = self._direct
                if direct is None:
                    direct = self._direct = SyncSender(httpx.Client())
        return direct

    def _send(self, action: Send) -> httpx.Response | _Received:
        client = self._user_client
        _log_send(action)
        try:
            if client is None:
                response = self._sync_sender().send(action)
            else:
                response = client.send(_build_request(client, action), stream=True)
            if action.stream:
                return response
            # The body is read piece by piece: bounded (MAX_REPLY_BYTES), and cut off at the
            # call's deadline when a peer drips it.
            try:
                content = _read_body(
                    response.status_code, response.headers, body_of(response), action.deadline
                )
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise _connection_error(exc) from exc
        return _Received(response.status_code, response.headers, content)

    def _perform(self, action: Any) -> Any:
        if isinstance(action, Send):
            return self._send(action)
        if isinstance(action, Acquire):
            action.throttle.acquire(action.tokens)
            return None
        if isinstance(action, GetToken):
            source = action.source
            fetch = lambda: source.parse(self._send(source.request(action.timeout)))  # noqa: E731
            return source.cache.get(fetch, action.stale)
        if isinstance(action, OpenStream):
            response: httpx.Response = action.response
            if not _is_event_stream(response):
                try:
                    response.read()
                except httpx.HTTPError as exc:
                    raise _connection_error(exc) from exc
                finally:
                    response.close()
                raise _not_a_stream(response, action.statistic)
            return ChatStream(
                response,
                action.statistic,
                action.version,
                action.merge_usage,
                action.deadline,
                action.event_timeout,
            )._prime()
        assert isinstance(action, Sleep)
        time.sleep(action.seconds)
        return None

    def _run(self, spec: CallSpec) -> Any:
        flow: Generator[Any, Any, Any] = call_flow(spec)
        value: Any = None
        error: QianfanError | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self._perform(action)
            except QianfanError as exc:
                error = exc

    @overload
    def do(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None = ...,
        endpoint: str | None = ...,
        stream: Literal[False] | None = ...,
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        request_id: str | None = ...,
        backoff_factor: float | None = ...,
        auto_concat_truncate: bool = ...,
        truncated_continue_prompt: str = ...,
        truncate_overlong_msgs: bool = ...,
        deadline: float | None = ...,
        event_timeout: float | None = ...,
        **params: Any,
    ) -> QfResponse: ...

    @overload
    def do(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None,
        endpoint: str | None,
        stream: Literal[True],
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        request_id: str | None = ...,
        backoff_factor: float | None = ...,
        auto_concat_truncate: bool = ...,
        truncated_continue_prompt: str = ...,
        truncate_overlong_msgs: bool = ...,
        deadline: float | None = ...,
        event_timeout: float | None = ...,
        **params: Any,
    ) -> ChatStream: ...

    @overload
    def do(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None = ...,
        endpoint: str | None = ...,
        *,
        stream: Literal[True],
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        request_id: str | None = ...,
        backoff_factor: float | None = ...,
        auto_concat_truncate: bool = ...,
        truncated_continue_prompt: str = ...,
        truncate_overlong_msgs: bool = ...,
        deadline: float | None = ...,
        event_timeout: float | None = ...,
        **params: Any,
    ) -> ChatStream: ...

    def do(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None = None,
        endpoint: str | None = None,
        stream: bool | None = None,
        retry_count: int | None = None,
        request_timeout: float | None = None,
        request_id: str | None = None,
        backoff_factor: float | None = None,
        auto_concat_truncate: bool = False,
        truncated_continue_prompt: str = TRUNCATED_CONTINUE_PROMPT,
        truncate_overlong_msgs: bool = False,
        deadline: float | None = None,
        event_timeout: float | None = None,
        **params: Any,
    ) -> QfResponse | ChatStream:
        """Send one chat request; with ``stream=True`` (or ``stream=True`` given to the
        constructor), a :class:`ChatStream` of chunks.

        The arguments come in Baidu's SDK order, so positional calls written for it work.
        Every body parameter of the SDK page passes through ``params`` (``temperature``,
        ``top_p``, ``penalty_score``, ``system``, ``stop``, ``functions``, ``user_id``, ...).
        The SDK's options are honoured and never sent: ``auto_concat_truncate`` (a truncated
        reply, v1 ``is_truncated`` or v2 ``finish_reason: "length"``, is continued with
        ``truncated_continue_prompt``, at most 16 more times, and the pieces joined; not for
        streams), ``truncate_overlong_msgs``
        (the oldest turns are dropped until the input fits the model's budget),
        ``adapt_openai_message_format`` (v1: a ``system`` message moves to ``system``) and
        ``show_total_latency`` (``statistic["total_latency"]`` is always there); other SDK
        options are named in an :class:`UnsupportedOptionWarning` and not sent. Invalid
        messages or parameters raise :class:`InvalidRequestError` before any request.
        """
        messages, calls = self._planner(
            messages,
            model,
            endpoint,
            stream,
            retry_count,
            request_timeout,
            request_id,
            backoff_factor,
            auto_concat_truncate,
            truncated_continue_prompt,
            truncate_overlong_msgs,
            deadline,
            event_timeout,
            params,
        )
        result: QfResponse | ChatStream = self._drive(calls(messages))
        if isinstance(result, ChatStream) and auto_concat_truncate:
            turns = _Continuation(messages, truncated_continue_prompt)
            return ContinuedChatStream(
                result, lambda piece: self._drive(calls(turns.next(piece))), MAX_CONTINUATIONS
            )
        return result

    def _planner(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None,
        endpoint: str | None,
        stream: bool | None,
        retry_count: int | None,
        request_timeout: float | None,
        request_id: str | None,
        backoff_factor: float | None,
        auto_concat_truncate: bool,
        truncated_continue_prompt: str,
        truncate_overlong_msgs: bool,
        deadline: float | None,
        event_timeout: float | None,
        params: Mapping[str, Any],
    ) -> tuple[Any, Callable[[Any], Generator[CallSpec, Any, Any]]]:
        """What ``do`` and ``ado`` share: the messages (a list when a continued stream must
        read them again) and the calls one conversation makes (:meth:`_calls`), the options
        resolved against the constructor's."""
        streaming = self._stream if stream is None else stream
        if streaming and auto_concat_truncate and not isinstance(messages, str | bytes | Mapping):
            messages = list(messages)  # read again by each continuation

        def calls(conversation: Any) -> Generator[CallSpec, Any, Any]:
            return self._calls(
                conversation,
                model=model,
                endpoint=endpoint,
                stream=streaming,
                retry_count=retry_count,
                request_timeout=request_timeout,
                request_id=request_id,
                backoff_factor=backoff_factor,
                continue_prompt=truncated_continue_prompt if auto_concat_truncate else None,
                truncate=truncate_overlong_msgs,
                deadline=self._deadline if deadline is None else deadline,
                event_timeout=self._event_timeout if event_timeout is None else event_timeout,
                params=params,
            )

        return messages, calls

    async def _adrive(self, calls: Generator[CallSpec, Any, Any]) -> Any:
        value: Any = None
        while True:
            try:
                spec = calls.send(value)
            except StopIteration as stop:
                return stop.value
            value = await self._arun(spec)

    def _drive(self, calls: Generator[CallSpec, Any, Any]) -> Any:
        value: Any = None
        while True:
            try:
                spec = calls.send(value)
            except StopIteration as stop:
                return stop.value
            value = self._run(spec)

    def batch_do(
        self,
        messages_list: Sequence[Iterable[Mapping[str, Any]]] | None = None,
        worker_num: int | None = None,
        *,
        body_list: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> BatchRequestFuture[Any]:
        """Send several conversations concurrently (at most ``worker_num`` at a time, default
        8) and return at once, as the SDK does: a :class:`BatchRequestFuture` whose
        ``results()`` are in input order, a failed item's exception in its place. Items are
        ``messages_list`` conversations, or ``body_list`` dicts of ``messages`` and per-item
        parameters; ``kwargs`` go to every :meth:`do` (``stream=True`` gives each item a
        :class:`ChatStream`)."""
        from ._batch import BatchRequestFuture

        items = _batch_items(messages_list, body_list)
        workers = _workers(worker_num, len(items))
        return BatchRequestFuture(
            [functools.partial(self.do, **{**kwargs, **item}) for item in items], workers
        )

    def close(self) -> None:
        """Close the pooled connections this object opened (never a caller's client)."""
        with self._lock:
            direct, self._direct = self._direct, None
        if direct is not None:
            direct.client.close()

    def __enter__(self) -> ChatCompletion:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the async shell --------------------------------------------------------------------

    def _async_client(self) -> httpx.AsyncClient:
        if self._user_async_client is not None:
            return self._user_async_client  # used as given: its transport, never closed here
        # One client per event loop: connections belong to the loop that opened them, so a
        # new loop (each asyncio.run) gets its own pool, closed when that loop shuts down
        # (see _transport.close_with_loop), not whenever the garbage collector runs.
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._async_clients.get(loop)
        if entry is not None:
            return entry[0]
        # The first async call: aiohttp is imported here, never by sync users.
        from ._transport import close_with_loop, new_async_client

        with self._lock:
            entry = self._async_clients.get(loop)
            if entry is None:
                for old_loop in [lp for lp in self._async_clients if lp.is_closed()]:
                    del self._async_clients[old_loop]
                client, direct = new_async_client()
                closer = close_with_loop(client, functools.partial(self._forget_loop, loop))
                entry = self._async_clients[loop] = (client, closer, direct)
        return entry[0]

    def _direct_sender(self) -> DirectSender | None:
        """This loop's direct road onto aiohttp (see ``_transport.DirectSender``), or None
        for a caller's own client, which is always used through httpx."""
        if self._user_async_client is not None:
            return None
        import asyncio

        entry = self._async_clients.get(asyncio.get_running_loop())
        if entry is None:
            self._async_client()
            entry = self._async_clients.get(asyncio.get_running_loop())
        return entry[2] if entry is not None else None

    def _forget_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._async_clients.pop(loop, None)

    async def _asend(self, action: Send) -> httpx.Response | _Received:
        direct = self._direct_sender()
        _log_send(action)
        opening: Any
        if direct is not None:  # always opened as a stream: a whole body is read here, bounded
            opening = direct.send(action)
        else:
            client = self._async_client()
            opening = client.send(_build_request(client, action), stream=True)
        exchange = _aexchange(opening, action)
        import asyncio  # loaded already: this is the async path

        try:
            if action.deadline is None:
                return await exchange
            # The whole exchange (a stream: up to its headers) within the deadline.
            return await asyncio.wait_for(exchange, max(action.deadline - time.monotonic(), 0.0))
        except httpx.HTTPError as exc:
            raise _connection_error(exc) from exc
        except asyncio.TimeoutError:
            raise deadline_error(1) from None

    async def _aperform(self, action: Any) -> Any:
        if isinstance(action, Send):
            return await self._asend(action)
        if isinstance(action, Acquire):
            await action.throttle.aacquire(action.tokens)
            return None
        if isinstance(action, GetToken):
            source = action.source

            async def fetch() -> tuple[str, float]:
                return source.parse(await self._asend(source.request(action.timeout)))

            return await source.cache.aget(fetch, action.stale)
        if isinstance(action, OpenStream):
            response: httpx.Response = action.response
            if not _is_event_stream(response):
                try:
                    await response.aread()
                except httpx.HTTPError as exc:
                    raise _connection_error(exc) from exc
                finally:
                    await response.aclose()
                raise _not_a_stream(response, action.statistic)
            return await AsyncChatStream(
                response,
                action.statistic,
                action.version,
                action.merge_usage,
                action.deadline,
                action.event_timeout,
            )._prime()
        assert isinstance(action, Sleep)
        import asyncio

        await asyncio.sleep(action.seconds)
        return None

    async def _arun(self, spec: CallSpec) -> Any:
        flow: Generator[Any, Any, Any] = call_flow(spec)
        value: Any = None
        error: QianfanError | None = None
        while True:
            try:
                action = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = await self._aperform(action)
            except QianfanError as exc:
                error = exc

    @overload
    async def ado(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None = ...,
        endpoint: str | None = ...,
        stream: Literal[False] | None = ...,
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        request_id: str | None = ...,
        backoff_factor: float | None = ...,
        auto_concat_truncate: bool = ...,
        truncated_continue_prompt: str = ...,
        truncate_overlong_msgs: bool = ...,
        deadline: float | None = ...,
        event_timeout: float | None = ...,
        **params: Any,
    ) -> QfResponse: ...

    @overload
    async def ado(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None,
        endpoint: str | None,
        stream: Literal[True],
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        request_id: str | None = ...,
        backoff_factor: float | None = ...,
        auto_concat_truncate: bool = ...,
        truncated_continue_prompt: str = ...,
        truncate_overlong_msgs: bool = ...,
        deadline: float | None = ...,
        event_timeout: float | None = ...,
        **params: Any,
    ) -> AsyncChatStream: ...

    @overload
    async def ado(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None = ...,
        endpoint: str | None = ...,
        *,
        stream: Literal[True],
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        request_id: str | None = ...,
        backoff_factor: float | None = ...,
        auto_concat_truncate: bool = ...,
        truncated_continue_prompt: str = ...,
        truncate_overlong_msgs: bool = ...,
        deadline: float | None = ...,
        event_timeout: float | None = ...,
        **params: Any,
    ) -> AsyncChatStream: ...

    async def ado(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | None = None,
        endpoint: str | None = None,
        stream: bool | None = None,
        retry_count: int | None = None,
        request_timeout: float | None = None,
        request_id: str | None = None,
        backoff_factor: float | None = None,
        auto_concat_truncate: bool = False,
        truncated_continue_prompt: str = TRUNCATED_CONTINUE_PROMPT,
        truncate_overlong_msgs: bool = False,
        deadline: float | None = None,
        event_timeout: float | None = None,
        **params: Any,
    ) -> QfResponse | AsyncChatStream:
        """The async :meth:`do` (same arguments); with ``stream=True``, an
        :class:`AsyncChatStream`."""
        messages, calls = self._planner(
            messages,
            model,
            endpoint,
            stream,
            retry_count,
            request_timeout,
            request_id,
            backoff_factor,
            auto_concat_truncate,
            truncated_continue_prompt,
            truncate_overlong_msgs,
            deadline,
            event_timeout,
            params,
        )
        result: QfResponse | AsyncChatStream = await self._adrive(calls(messages))
        if isinstance(result, AsyncChatStream) and auto_concat_truncate:
            turns = _Continuation(messages, truncated_continue_prompt)

            async def follow(piece: str) -> AsyncChatStream:
                stream: AsyncChatStream = await self._adrive(calls(turns.next(piece)))
                return stream

            return ContinuedAsyncChatStream(result, follow, MAX_CONTINUATIONS)
        return result

    async def abatch_do(
        self,
        messages_list: Sequence[Iterable[Mapping[str, Any]]] | None = None,
        worker_num: int | None = None,
        *,
        body_list: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """The async :meth:`batch_do`, as in the SDK a list once all are done: bounded
        concurrency, input order, a failed item's exception in its place."""
        import asyncio

        items = _batch_items(messages_list, body_list)
        gate = asyncio.Semaphore(_workers(worker_num, len(items)))

        async def one(item: dict[str, Any]) -> Any:
            async with gate:
                try:
                    return await self.ado(**{**kwargs, **item})
                except Exception as exc:
                    return exc

        return list(await asyncio.gather(*(one(item) for item in items)))

    async def aclose(self) -> None:
        """Close this loop's pooled connections (and the sync ones)."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async_clients.pop(loop, None)
        if entry is not None:
            await entry[1].aclose()  # its finally closes the client
        self.close()

    async def __aenter__(self) -> ChatCompletion:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the SDK's model and token helpers ----------------------------------------------------

    @_class_or_instance_method
    def models(self_or_cls: Any, version: int | str | None = None) -> set[str]:
        """The model names this client knows (v1: the table's names; v2: its ids). Called on
        the class, the v1 table unless ``version=2``; on an object, its own version's."""
        if version is None and isinstance(self_or_cls, ChatCompletion):
            return self_or_cls._requests.models()
        chosen = _v2.V2Requests if str(version or 1).lower().lstrip("v") == "2" else _v1.V1Requests
        return chosen.models()

    def get_model_info(self, model: str) -> ModelInfo:
        """What the model table knows of ``model`` (:class:`UnknownModelError` if nothing)."""
        return self._requests.model_info(model)

    def access_token(self) -> str:
        """The token calls send (v1 OAuth: fetched and shared, as a call would; a ready token
        or v2 API key as given; v2 with IAM keys: the minted key). IAM-signed v1 calls use
        none: :class:`InvalidRequestError`."""
        plan = self._auth
        if plan is None:
            raise CredentialsError(NO_CREDENTIALS[self.version])
        if plan.token is not None:
            return plan.token.get()
        if plan.source is None:
            raise InvalidRequestError("access_token", "IAM-signed v1 calls send no token")
        token: str = self._perform(GetToken(plan.source, self.request_timeout))
        return token

    async def aaccess_token(self) -> str:
        """The async :meth:`access_token`."""
        plan = self._auth
        if plan is None or plan.source is None:
            return self.access_token()
        token: str = await self._aperform(GetToken(plan.source, self.request_timeout))
        return token

    # -- batch inference (v2 files + batches; see _batches.py) ------------------------------

    @property
    def files(self) -> Files:
        """The v2 files API (upload, get, list, download) over this client's settings, auth
        and pooled connections."""
        from ._batches import Files

        return Files(self)

    @property
    def batches(self) -> Batches:
        """The v2 batch-inference API (create, submit, get, list, cancel, wait, results)."""
        from ._batches import Batches

        return Batches(self)


def _throttle(
    qps: float | None, rpm: int | None, tpm: int | None
) -> tuple[float | None, int | None, int | None] | None:
    """The client's explicit rate limits, or None. 0 means no limit, as in Baidu's SDK (whose
    default it is)."""

    def unset_if_zero(value: Any) -> Any:
        return None if (value == 0 and not isinstance(value, bool)) else value

    qps, rpm, tpm = unset_if_zero(qps), unset_if_zero(rpm), unset_if_zero(tpm)
    if qps is None and rpm is None and tpm is None:
        return None
    return qps, rpm, tpm


def _budgets(
    settings: Settings,
    limits: tuple[float | None, int | None, int | None] | None,
    learn: bool,
    redis_url: str | None,
) -> Budgets | None:
    """Where the client's calls take their rate-limit budgets: one per credential and model
    in the process (or in Redis), set by ``limits`` or learned from the server; None: no
    limits and no learning (every call goes at once)."""
    if limits is None and not learn:
        return None
    from ._throttle import Budgets

    creds = settings.credentials
    mode = settings.auth_mode
    secret = {"oauth": creds.ak, "token": creds.access_token, "bearer": creds.api_key}.get(
        mode or "", creds.access_key
    )
    identity = "\0".join(
        [str(settings.version), mode or "", secret.get() if secret else "", settings.appid or ""]
    )
    return Budgets(identity, limits, learn=bool(learn), redis_url=redis_url)


def _estimate(body: Mapping[str, Any]) -> int:
    """The prompt tokens of a call's body, Baidu's estimate (for ``token_per_minute``)."""
    from ._protocol.tokens import prompt_tokens

    messages = body.get("messages")
    system = body.get("system")
    if not isinstance(messages, list):
        return 0
    return prompt_tokens(
        [m for m in messages if isinstance(m, Mapping)], system if isinstance(system, str) else None
    )


def _check_seconds(name: str, value: float | None) -> None:
    if value is not None and not (
        isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e9
    ):
        raise InvalidRequestError(name, f"must be a positive number of seconds, got {value!r}")


class _Continuation:
    """The conversation of a stream's next continuation: the caller's messages, then each
    piece received and the continue prompt (``auto_concat_truncate``)."""

    def __init__(self, messages: Any, prompt: str) -> None:
        self.messages = list(messages)
        self.prompt = prompt

    def next(self, piece: str) -> list[Any]:
        self.messages += [
            {"role": "assistant", "content": piece},
            {"role": "user", "content": self.prompt},
        ]
        return list(self.messages)


def _is_truncated(body: Mapping[str, Any]) -> bool:
    """v1: ``is_truncated``; v2: the first choice stopped at the output limit."""
    if "choices" in body:
        choices = body.get("choices") or [{}]
        return bool(choices) and choices[0].get("finish_reason") == "length"
    return body.get("is_truncated") is True


def _reply_text(body: Mapping[str, Any]) -> str:
    if "choices" in body:
        choices = body.get("choices") or [{}]
        return str((choices[0].get("message") or {}).get("content") or "")
    return str(body.get("result") or "")


def _set_reply_text(body: dict[str, Any], text: str) -> None:
    if "choices" in body:
        body["choices"][0]["message"]["content"] = text
    else:
        body["result"] = text


def _batch_items(
    messages_list: Sequence[Iterable[Mapping[str, Any]]] | None,
    body_list: Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """``do`` keyword sets, one per item: ``{"messages": ...}`` or a ``body_list`` dict."""
    if (messages_list is None) == (body_list is None):
        raise InvalidRequestError("messages_list", "give messages_list or body_list (one of them)")
    if body_list is not None:
        items = []
        for i, body in enumerate(body_list):
            if not isinstance(body, Mapping) or "messages" not in body:
                raise InvalidRequestError(f"body_list[{i}]", "must be a dict with messages")
            items.append(dict(body))
        return items
    assert messages_list is not None
    return [{"messages": messages} for messages in messages_list]


def _workers(worker_num: int | None, items: int) -> int:
    if worker_num is not None and worker_num < 1:
        raise InvalidRequestError("worker_num", f"must be >= 1, got {worker_num}")
    return worker_num or max(1, min(DEFAULT_BATCH_WORKERS, items))
