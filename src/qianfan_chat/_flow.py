"""One chat call as a sans-I/O flow, shared by the sync and the async client.

:func:`call_flow` is a generator: it *yields actions* (:class:`Send`, :class:`GetToken`,
:class:`OpenStream`, :class:`Sleep`) and receives their results; every decision — how calls
are authorized (:func:`auth_plan`), signing, how a token is requested and read
(:class:`TokenSource`), reading the reply, which errors to retry, how long to wait, refreshing
a rejected token — is made here, once. The shells in ``_client.py`` only perform the actions
(send, sleep, close) with ``httpx.Client`` or ``httpx.AsyncClient``, the pattern of httpx's own
auth flows.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from . import _v1, _v2, _wire
from ._auth import SharedTokens, TokenKind
from ._config import ApiVersion, Secret, Settings
from ._errors import (
    APIError,
    APITimeoutError,
    CredentialsError,
    QianfanError,
    RateLimitError,
    TokenRejectedError,
)
from ._protocol import wire
from ._response import QfResponse
from ._retry import MAX_RETRY_AFTER, RetryPolicy, is_retryable, retry_after_seconds

if TYPE_CHECKING:
    from ._throttle import Throttle

NO_CREDENTIALS: dict[ApiVersion, str] = {
    1: "no Qianfan credentials for the v1 API: set QIANFAN_AK and QIANFAN_SK (app API key and "
    "secret key), or QIANFAN_ACCESS_TOKEN, or QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY (IAM "
    "keys), or pass ak=/sk=, access_token= or access_key=/secret_key=",
    2: "no Qianfan credentials for the v2 API: set QIANFAN_API_KEY (or QIANFAN_BEARER_TOKEN), or "
    "QIANFAN_ACCESS_KEY and QIANFAN_SECRET_KEY (IAM keys), or pass api_key= or "
    "access_key=/secret_key=",
}


class HTTPReply(Protocol):
    """What the flow reads of an ``httpx.Response``."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Send:
    method: str
    url: str
    params: dict[str, str] | None
    headers: dict[str, str]
    content: bytes | None
    timeout: float
    stream: bool = False
    # The call's deadline (``time.monotonic()``), which the shell enforces while it reads.
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class GetToken:
    """Ask the shell for the shared token of ``source``: from its cache, or fetched by sending
    ``source.request(timeout)`` and reading the reply with ``source.parse``. ``stale`` is one
    the server just rejected (never returned again)."""

    source: TokenSource
    timeout: float
    stale: str | None = None


@dataclass(frozen=True, slots=True)
class OpenStream:
    """Turn a streaming response into a stream object, reading up to its first chunk (an error
    there is still retried: nothing has reached the caller yet)."""

    response: Any
    statistic: dict[str, Any]
    version: ApiVersion
    merge_usage: bool = False  # see CallSpec
    deadline: float | None = None  # see CallSpec
    event_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Acquire:
    """Wait for the budget's rate limits (``query_per_second``, ``request_per_minute``,
    ``token_per_minute``, set or learned) to admit one attempt of about ``tokens`` prompt
    tokens. Yielded only while the throttle is active; the flow feeds it what the server
    says through two pure calls, ``observe(headers)`` after every reply and
    ``limited(code, headers)`` after a rate-limit refusal, before the retry decision."""

    throttle: Throttle
    tokens: int


Action = Send | GetToken | OpenStream | Sleep | Acquire


@dataclass(frozen=True, slots=True)
class TokenSource:
    """Where a call's token comes from and how it is fetched: ``oauth`` (v1: App AK/SK for an
    access token) or ``bearer`` (v2: a short-term API key minted with IAM keys, a signed GET).
    ``cache`` is the process-wide slot for this kind, host and key pair."""

    kind: TokenKind
    base_url: str
    key: Secret
    secret: Secret
    cache: SharedTokens

    def request(self, timeout: float) -> Send:
        if self.kind == "oauth":
            return token_request(self.base_url, self.key.get(), self.secret.get(), timeout)
        return bearer_request(self.base_url, self.key.get(), self.secret.get(), timeout)

    def parse(self, response: HTTPReply) -> tuple[str, float]:
        """``(token, seconds it stays valid)`` from the reply, or its typed error."""
        parse = _v1.parse_token_reply if self.kind == "oauth" else _v2.parse_bearer_reply
        return parse(response.status_code, response.headers, response.content)


Place = Literal["query", "bearer", "sign"]


@dataclass(frozen=True, slots=True)
class AuthPlan:
    """How every attempt of a call is authorized.

    ``place``: ``query`` (v1: ``?access_token=``), ``bearer`` (v2: ``Authorization: Bearer``)
    or ``sign`` (v1 with IAM keys: bce-auth-v1). The token is ``token`` as given or, with a
    ``source``, one fetched and shared (OAuth for v1, a key minted from IAM keys for v2).
    """

    place: Place
    token: Secret | None = None
    source: TokenSource | None = None
    access_key: Secret | None = None
    secret_key: Secret | None = None


def auth_plan(settings: Settings) -> AuthPlan | None:
    """How calls with these settings are authorized, decided once (None: no credentials)."""
    creds = settings.credentials
    mode = settings.auth_mode
    if mode is None:
        return None
    if mode == "oauth":
        assert creds.ak is not None and creds.sk is not None
        return AuthPlan("query", source=_source("oauth", settings.base_url, creds.ak, creds.sk))
    if mode == "token":
        return AuthPlan("query", token=creds.access_token)
    if mode == "bearer":
        return AuthPlan("bearer", token=creds.api_key)
    assert creds.access_key is not None and creds.secret_key is not None
    if settings.version == 2:
        source = _source("bearer", settings.iam_base_url, creds.access_key, creds.secret_key)
        return AuthPlan("bearer", source=source)
    return AuthPlan("sign", access_key=creds.access_key, secret_key=creds.secret_key)


def _source(kind: TokenKind, base_url: str, key: Secret, secret: Secret) -> TokenSource:
    cache = SharedTokens(kind, base_url, key.get(), secret.get())
    return TokenSource(kind, base_url, key, secret, cache)


@dataclass(frozen=True, slots=True)
class CallSpec:
    """Everything one call needs, already validated. ``auth`` None: no credentials.

    A chat call is a JSON ``POST``; the batch-inference calls also ``GET`` (``content``
    None, ``params`` the query), upload multipart (``content_type``), and read a file's bytes
    (``raw``: the reply is a :class:`RawReply`, not JSON).
    """

    url: str
    content: bytes | None
    auth: AuthPlan | None
    policy: RetryPolicy
    timeout: float
    version: ApiVersion
    stream: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    params: dict[str, str] | None = None
    content_type: str | None = "application/json"
    raw: bool = False
    # v2: the client asked for the usage chunk on the caller's behalf, so the stream hands the
    # usage to the finish chunk instead of yielding a chunk with no choices.
    merge_usage: bool = False
    # The whole call must be over by ``deadline`` (``time.monotonic()``): every attempt, wait
    # and read, a stream to its end; None: no overall bound (each read is bounded by timeout).
    deadline: float | None = None
    # A stream fails when no real event (comments and keep-alives do not count) came for
    # this many seconds; None: only the per-read timeout.
    event_timeout: float | None = None
    # The client's own rate limits, and this call's prompt-token estimate for them.
    throttle: Throttle | None = None
    estimate: int = 0


@dataclass(frozen=True, slots=True)
class RawReply:
    """A successful reply whose body is bytes (a file's content), not a JSON object."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    request_id: str | None


def _authorize(
    plan: AuthPlan, spec: CallSpec, token: str | None
) -> tuple[dict[str, str] | None, dict[str, str]]:
    headers = {"Content-Type": spec.content_type} if spec.content_type else {}
    headers.update(spec.headers)
    if plan.token is not None:
        token = plan.token.get()
    if plan.place == "query":
        return {**(spec.params or {}), wire.ACCESS_TOKEN_PARAM: token or ""}, headers
    if plan.place == "bearer":
        headers["Authorization"] = f"{wire.BEARER_SCHEME} {token or ''}"
        return spec.params, headers
    assert plan.access_key is not None
    assert plan.secret_key is not None
    from urllib.parse import urlencode

    from ._protocol.signing import sign_request_headers  # IAM users only: keeps the import light

    headers.update(
        sign_request_headers(
            access_key=plan.access_key.get(),
            secret_key=plan.secret_key.get(),
            method=spec.method,
            url=f"{spec.url}?{urlencode(spec.params)}" if spec.params else spec.url,
            headers=headers,
        )
    )
    return spec.params, headers


def call_flow(spec: CallSpec) -> Generator[Action, Any, Any]:
    """Run one call to completion: returns a :class:`QfResponse` or an opened stream."""
    plan = spec.auth
    if plan is None:
        raise CredentialsError(NO_CREDENTIALS[spec.version])
    started = time.perf_counter()
    attempts = retries = 0
    stale: str | None = None
    refreshed = False
    deadline = spec.deadline
    error: QianfanError | None = None
    while True:
        attempts += 1
        token: str | None = None
        attempt_started = time.perf_counter()
        timeout = spec.timeout
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise deadline_error(attempts - 1) from error
            timeout = min(timeout, remaining)
        throttle = spec.throttle
        acquired = False
        try:
            if plan.source is not None:
                token = yield GetToken(plan.source, timeout, stale)
            # Right before the send (after any token fetch), so the slot is used at once.
            if throttle is not None and throttle.active:
                yield Acquire(throttle, spec.estimate)
                acquired = True
            params, headers = _authorize(plan, spec, token)
            send = Send(
                spec.method,
                spec.url,
                params,
                headers,
                spec.content,
                timeout,
                spec.stream,
                deadline,
            )
            response = yield send
            if throttle is not None:
                throttle.observe(response.headers)
            statistic = {
                "attempts": attempts,
                "request_latency": time.perf_counter() - attempt_started,
                "total_latency": time.perf_counter() - started,
            }
            if spec.stream:
                opened = OpenStream(
                    response,
                    statistic,
                    spec.version,
                    spec.merge_usage,
                    deadline,
                    spec.event_timeout,
                )
                return (yield opened)
            if spec.raw:
                return raw_reply(response)
            result = reply(response, statistic, send)
            if acquired:
                assert throttle is not None
                usage = result.body.get("usage")
                total = usage.get("total_tokens") if isinstance(usage, Mapping) else None
                if isinstance(total, int) and not isinstance(total, bool):
                    throttle.settle(spec.estimate, total)
            return result
        except APIError as exc:
            if isinstance(exc, RateLimitError) and throttle is not None:
                throttle.limited(exc.error_code, exc.headers)  # slow down before the retry
            # The fetched token was rejected: fetch a new one, once, and resend.
            if isinstance(exc, TokenRejectedError) and plan.source is not None and not refreshed:
                refreshed, stale = True, token  # refresh once and resend, not a retry
                continue
            error = exc
        except QianfanError as exc:
            error = exc
        if retries >= spec.policy.retry_count or not is_retryable(error):
            raise error
        retry_after = None
        if isinstance(error, APIError):
            retry_after = retry_after_seconds(error.headers.get("retry-after"))
            if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                raise error
        retries += 1
        delay = spec.policy.delay(retries, retry_after)
        if deadline is not None and time.monotonic() + delay >= deadline:
            raise error  # the next attempt could not start before the deadline
        if delay > 0:
            yield Sleep(delay)


def deadline_error(attempts: int) -> APITimeoutError:
    """The call's overall deadline passed (``deadline=``)."""
    return APITimeoutError(f"the call's deadline passed ({attempts} attempts made)")


def reply(
    response: HTTPReply, statistic: dict[str, Any], request: Send | None = None
) -> QfResponse:
    """A complete (non-stream) reply as a QfResponse, or its typed error. ``request`` is what
    was sent (``resp.request`` shows it, secrets masked)."""
    headers = response.headers
    status = response.status_code
    body = _wire.decode_json(response.content, status, headers)
    err = _wire.error_from(status, headers, body)
    if err is not None:
        raise err
    if not isinstance(body, dict):
        raise APIError("the server's reply is not a JSON object", status_code=status)
    return QfResponse(status, headers, body, statistic, _wire.request_id(headers, body), request)


def raw_reply(response: HTTPReply) -> RawReply:
    """A successful reply's bytes, or the typed error of a failed one (read as JSON)."""
    status, headers = response.status_code, response.headers
    if status >= 400:
        body = _wire.decode_json(response.content, status, headers)
        err = _wire.error_from(status, headers, body)
        if err is not None:
            raise err
    return RawReply(status, headers, response.content, _wire.request_id(headers))


def token_request(base_url: str, ak: str, sk: str, timeout: float) -> Send:
    """v1: exchange App AK/SK for an OAuth access token."""
    return Send("POST", base_url + wire.OAUTH_PATH, wire.oauth_params(ak, sk), {}, None, timeout)


def bearer_request(iam_base_url: str, ak: str, sk: str, timeout: float) -> Send:
    """v2: mint a short-term API key with IAM keys (a signed GET of BCE-BEARER/token)."""
    from urllib.parse import urlencode

    from ._protocol.signing import sign_request_headers

    query = _v2.bearer_query()
    url = iam_base_url + wire.BEARER_PATH
    headers = sign_request_headers(
        access_key=ak, secret_key=sk, method="GET", url=f"{url}?{urlencode(query)}", headers={}
    )
    return Send("GET", url, query, headers, None, timeout)
