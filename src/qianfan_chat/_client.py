"""``ChatCompletion``: the official SDK's chat surface (seed document 001), done right, for
Qianfan's v1 and v2 chat APIs.

The call logic lives in :mod:`._flow` (I/O-free); this module prepares a call (model
resolution, body, validation — all before the network) and performs the flow's actions with one
pooled ``httpx.Client`` (sync) or one ``httpx.AsyncClient`` per event loop (async).
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Generator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from . import _v1, _v2
from ._config import ApiVersion, Credentials, Settings, check_call_options
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InvalidRequestError,
    QianfanError,
)
from ._flow import (
    CallSpec,
    GetToken,
    OpenStream,
    Send,
    Sleep,
    auth_plan,
    call_flow,
    reply,
)
from ._logging import install_redaction, logger, redact
from ._response import QfResponse
from ._retry import RetryPolicy
from ._stream import AsyncChatStream, ChatStream

if TYPE_CHECKING:
    import asyncio

# asyncio and concurrent.futures are imported where they are used, so that importing the client
# stays cheap for sync users (asyncio alone costs ~30 ms).
DEFAULT_BATCH_WORKERS = 8  # batch_do / abatch_do concurrency when worker_num is not given
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


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


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
        self._client: httpx.Client | None = None
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, httpx.AsyncClient
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._auth = auth_plan(settings)
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
        return CallSpec(
            url=url,
            content=json.dumps(body, ensure_ascii=False).encode(),
            auth=self._auth,
            policy=policy,
            timeout=timeout,
            stream=stream,
            headers=headers,
            version=self.version,
        )

    # -- the sync shell ---------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        if self._user_client is not None:
            return self._user_client
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client()
        return self._client

    def _send(self, action: Send) -> httpx.Response:
        client = self._sync_client()
        request = client.build_request(
            action.method,
            action.url,
            params=action.params,
            headers=action.headers,
            content=action.content,
            timeout=action.timeout,
        )
        logger.debug("%s %s", action.method, redact(str(request.url)))
        try:
            return client.send(request, stream=action.stream)
        except httpx.HTTPError as exc:
            raise _connection_error(exc) from exc

    def _perform(self, action: Any, spec: CallSpec) -> Any:
        if isinstance(action, Send):
            return self._send(action)
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
            return ChatStream(response, action.statistic, action.version)._prime()
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
                value = self._perform(action, spec)
            except QianfanError as exc:
                error = exc

    @overload
    def do(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None = ...,
        endpoint: str | None = ...,
        stream: Literal[False] = ...,
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        backoff_factor: float | None = ...,
        request_id: str | None = ...,
        **params: Any,
    ) -> QfResponse: ...

    @overload
    def do(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None = ...,
        endpoint: str | None = ...,
        stream: Literal[True],
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        backoff_factor: float | None = ...,
        request_id: str | None = ...,
        **params: Any,
    ) -> ChatStream: ...

    def do(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None = None,
        endpoint: str | None = None,
        stream: bool = False,
        retry_count: int | None = None,
        request_timeout: float | None = None,
        backoff_factor: float | None = None,
        request_id: str | None = None,
        **params: Any,
    ) -> QfResponse | ChatStream:
        """Send one chat request. With ``stream=True``, returns a :class:`ChatStream` of chunks.

        Every body parameter of the SDK page passes through ``params`` (``temperature``,
        ``top_p``, ``penalty_score``, ``system``, ``stop``, ``functions``, ``user_id``, ...).
        Invalid messages or parameters raise :class:`InvalidRequestError` before any request.
        """
        spec = self._prepare(
            messages,
            model=model,
            endpoint=endpoint,
            stream=stream,
            retry_count=retry_count,
            request_timeout=request_timeout,
            backoff_factor=backoff_factor,
            request_id=request_id,
            params=params,
        )
        result: QfResponse | ChatStream = self._run(spec)
        return result

    def batch_do(
        self,
        messages_list: Sequence[Iterable[Mapping[str, Any]]],
        worker_num: int | None = None,
        **kwargs: Any,
    ) -> list[QfResponse | Exception]:
        """Send several conversations concurrently (at most ``worker_num`` at a time, default
        8). Results come in input order; a failed item's exception stands in its place."""
        if kwargs.get("stream"):
            raise InvalidRequestError("stream", "batch_do does not stream; call do(stream=True)")
        workers = _workers(worker_num, len(messages_list))

        def one(messages: Iterable[Mapping[str, Any]]) -> QfResponse | Exception:
            try:
                result: QfResponse = self.do(messages, **kwargs)
            except Exception as exc:
                return exc
            return result

        if not messages_list:
            return []
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qianfan-batch") as pool:
            return list(pool.map(one, messages_list))

    def close(self) -> None:
        """Close the pooled connections this object opened (never a caller's client)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> ChatCompletion:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the async shell --------------------------------------------------------------------

    def _async_client(self) -> httpx.AsyncClient:
        if self._user_async_client is not None:
            return self._user_async_client
        # One client per event loop: connections belong to the loop that opened them, so a
        # new loop (each asyncio.run) gets its own pool, and a closed loop's pool is dropped.
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                for old_loop in [lp for lp in self._async_clients if lp.is_closed()]:
                    del self._async_clients[old_loop]
                client = self._async_clients[loop] = httpx.AsyncClient()
        return client

    async def _asend(self, action: Send) -> httpx.Response:
        client = self._async_client()
        request = client.build_request(
            action.method,
            action.url,
            params=action.params,
            headers=action.headers,
            content=action.content,
            timeout=action.timeout,
        )
        logger.debug("%s %s", action.method, redact(str(request.url)))
        try:
            return await client.send(request, stream=action.stream)
        except httpx.HTTPError as exc:
            raise _connection_error(exc) from exc

    async def _aperform(self, action: Any, spec: CallSpec) -> Any:
        if isinstance(action, Send):
            return await self._asend(action)
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
            return await AsyncChatStream(response, action.statistic, action.version)._prime()
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
                value = await self._aperform(action, spec)
            except QianfanError as exc:
                error = exc

    @overload
    async def ado(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None = ...,
        endpoint: str | None = ...,
        stream: Literal[False] = ...,
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        backoff_factor: float | None = ...,
        request_id: str | None = ...,
        **params: Any,
    ) -> QfResponse: ...

    @overload
    async def ado(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None = ...,
        endpoint: str | None = ...,
        stream: Literal[True],
        retry_count: int | None = ...,
        request_timeout: float | None = ...,
        backoff_factor: float | None = ...,
        request_id: str | None = ...,
        **params: Any,
    ) -> AsyncChatStream: ...

    async def ado(
        self,
        messages: Iterable[Mapping[str, Any]],
        *,
        model: str | None = None,
        endpoint: str | None = None,
        stream: bool = False,
        retry_count: int | None = None,
        request_timeout: float | None = None,
        backoff_factor: float | None = None,
        request_id: str | None = None,
        **params: Any,
    ) -> QfResponse | AsyncChatStream:
        """The async :meth:`do`. With ``stream=True``, returns an :class:`AsyncChatStream`."""
        spec = self._prepare(
            messages,
            model=model,
            endpoint=endpoint,
            stream=stream,
            retry_count=retry_count,
            request_timeout=request_timeout,
            backoff_factor=backoff_factor,
            request_id=request_id,
            params=params,
        )
        result: QfResponse | AsyncChatStream = await self._arun(spec)
        return result

    async def abatch_do(
        self,
        messages_list: Sequence[Iterable[Mapping[str, Any]]],
        worker_num: int | None = None,
        **kwargs: Any,
    ) -> list[QfResponse | Exception]:
        """The async :meth:`batch_do`: bounded concurrency, input order, errors in place."""
        if kwargs.get("stream"):
            raise InvalidRequestError("stream", "abatch_do does not stream; call ado(stream=True)")
        import asyncio

        gate = asyncio.Semaphore(_workers(worker_num, len(messages_list)))

        async def one(messages: Iterable[Mapping[str, Any]]) -> QfResponse | Exception:
            async with gate:
                try:
                    result: QfResponse = await self.ado(messages, **kwargs)
                except Exception as exc:
                    return exc
                return result

        return list(await asyncio.gather(*(one(m) for m in messages_list)))

    async def aclose(self) -> None:
        """Close this loop's pooled connections (and the sync ones)."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()
        self.close()

    async def __aenter__(self) -> ChatCompletion:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _workers(worker_num: int | None, items: int) -> int:
    if worker_num is not None and worker_num < 1:
        raise InvalidRequestError("worker_num", f"must be >= 1, got {worker_num}")
    return worker_num or max(1, min(DEFAULT_BATCH_WORKERS, items))
