"""The client's side of the v2 (OpenAI-compatible) chat protocol as pure functions: the URL,
body and headers of a call, its checks (the rules are :mod:`._protocol.rules_v2`'s), and the
reply that brings a short-term bearer key minted from IAM keys. No I/O here.

Spec: ``shared/docs/protocol-v2.md`` and ``protocol.md`` section 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ._errors import AuthenticationError, InvalidRequestError, UnknownModelError
from ._images import prepare_messages
from ._protocol import search, thinking, wire
from ._protocol.content import unsafe_value
from ._protocol.models_v2 import DEFAULT_CONTEXT_TOKENS, DEFAULT_V2_MODEL, V2_MODELS, v2_model
from ._protocol.rules_v2 import check_body
from ._wire import _code, _text, check_header, error_from, request_id

if TYPE_CHECKING:
    from ._config import Settings
    from ._types import ModelInfo


class V2Requests:
    """How a client builds its v2 requests: the model id is the call's ``model`` (or
    ``endpoint``, a deployed service's API name), else the client's, else
    ``ernie-lite-8k``; the ``appid`` header when the settings have one."""

    def __init__(self, settings: Settings, model: str | None, endpoint: str | None) -> None:
        self.settings = settings
        self.default_model = model or endpoint or DEFAULT_V2_MODEL
        self.url = settings.base_url + wire.V2_CHAT_PATH

    system_messages = True  # v2 takes system messages in ``messages``

    @staticmethod
    def merges_usage(params: Mapping[str, Any], stream: bool) -> bool:
        """A stream the caller did not ask ``stream_options`` for: the client asks for the
        usage chunk itself, and the stream folds it into the finish chunk (so iterating never
        meets a chunk whose ``choices`` is empty)."""
        return stream and params.get("stream_options") is None

    @staticmethod
    def models() -> set[str]:
        """Every v2 model id of the built-in table."""
        return set(V2_MODELS)

    @staticmethod
    def model_info(name: str) -> ModelInfo:
        from ._types import ModelInfo

        spec = v2_model(name)
        if spec is None:
            raise UnknownModelError(name, sorted(m for m in V2_MODELS if name.lower() in m)[:3])
        return ModelInfo(
            name=spec.id,
            endpoint=wire.V2_CHAT_PATH,
            required_keys=frozenset({"model", "messages"}),
            max_input_tokens=spec.context_tokens,
            max_output_tokens=spec.max_output_tokens,
            function_calling=spec.function_calling,
            reasoning=spec.reasoning,
        )

    def input_limit(self, model: str | None, endpoint: str | None) -> int:
        """The context budget in tokens of the model id a call names (generous when the
        table does not know it: a deployed service)."""
        spec = v2_model(model or endpoint or self.default_model)
        return spec.context_tokens if spec else DEFAULT_CONTEXT_TOKENS

    def build(
        self,
        messages: Iterable[Mapping[str, Any]],
        params: Mapping[str, Any],
        *,
        model: str | None,
        endpoint: str | None,
        stream: bool,
        request_id: str | None,
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """``(url, body, headers)`` of one call; :class:`InvalidRequestError` if a rule is
        broken."""
        body = build_body(model or endpoint or self.default_model, messages, params, stream=stream)
        validate(body)
        headers = (
            {wire.V2_REQUEST_ID_HEADER: check_header("request_id", request_id)}
            if request_id
            else {}
        )
        if self.settings.appid:
            headers[wire.APPID_HEADER] = self.settings.appid
        return self.url, body, headers


def build_body(
    model: str,
    messages: Iterable[Mapping[str, Any]],
    params: Mapping[str, Any],
    *,
    stream: bool,
) -> dict[str, Any]:
    """The JSON body. Streams ask for the usage chunk unless the caller set stream_options."""
    msgs: Any = messages
    if not isinstance(messages, str | bytes | Mapping):
        msgs = [
            dict(m) if isinstance(m, Mapping) and not isinstance(m, dict) else m for m in messages
        ]
    body: dict[str, Any] = {"model": model, "messages": prepare_messages(model, msgs, stacklevel=8)}
    for key, value in params.items():
        if value is not None:
            body[key] = value
    _qianfan_options(model, body)
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    return body


def _qianfan_options(model: str, body: dict[str, Any]) -> None:
    """Qianfan's own options, in place: ``thinking`` (True/False, a budget, an effort name)
    becomes the model family's switch, unless the caller sent a raw switch (a ``thinking``
    object such as ``{"type": "enabled"}`` is one, and is sent as it is); ``web_search`` is
    checked and sent with its current names (``search_num`` -> ``search_number``...)."""
    option = body.get(thinking.THINKING)
    if option is not None and not isinstance(option, Mapping):
        rule = thinking.check_option(option)
        if rule is not None:
            raise InvalidRequestError("thinking", rule)
        del body[thinking.THINKING]
        body.update(thinking.merge_thinking(model, option, body))
    web = body.get(search.WEB_SEARCH)
    if web is not None:
        bad = search.check_option(web)
        if bad is not None:
            raise InvalidRequestError(*bad)
        body[search.WEB_SEARCH] = search.normalize_option(web)


def validate(body: Mapping[str, Any]) -> None:
    violation = check_body(body)
    if violation is not None:
        raise InvalidRequestError(
            violation.field, violation.rule, error_code=violation.code, error_msg=violation.message
        )
    unsafe = unsafe_value(body)
    if unsafe is not None:  # NaN, a lone surrogate, absurd nesting: not JSON on the wire
        raise InvalidRequestError(unsafe[0].removeprefix("body."), unsafe[1])


def bearer_query(lifetime: int = wire.BEARER_REQUESTED_LIFETIME) -> dict[str, str]:
    return {wire.BEARER_LIFETIME_PARAM: str(lifetime)}


def _seconds_until(stamp: Any) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return (when - datetime.now(timezone.utc)).total_seconds()
    except (ValueError, OverflowError):
        return None


def parse_bearer_reply(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    lifetime: int = wire.BEARER_REQUESTED_LIFETIME,
) -> tuple[str, float]:
    """``(bearer key, seconds it stays valid)`` from the BCE-BEARER reply (HTTP 201; 200 is
    accepted too), or raise AuthenticationError with BCE's code (``SignatureDoesNotMatch``...)."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        body = None
    token = body.get("token") if isinstance(body, Mapping) else None
    if isinstance(token, str) and token and status < 300:
        remaining = _seconds_until(body.get("expireTime"))
        return token, remaining if remaining is not None else float(lifetime)
    code = _code(body.get("code") if isinstance(body, Mapping) else None) or headers.get(
        wire.BCE_ERROR_CODE_HEADER
    )
    if code:
        message = _text(body.get("message") if isinstance(body, Mapping) else None) or headers.get(
            wire.BCE_ERROR_MESSAGE_HEADER, ""
        )
        raise AuthenticationError(
            f"could not get a v2 bearer key from IAM keys ({code}: {message})",
            error_code=str(code),
            status_code=status,
            request_id=request_id(headers, body),
        )
    err = error_from(status, headers, body)
    raise err or AuthenticationError(
        "could not get a v2 bearer key (unexpected reply)", status_code=status
    )
