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

from ._errors import AuthenticationError, InvalidRequestError
from ._protocol import wire
from ._protocol.models_v2 import DEFAULT_V2_MODEL
from ._protocol.rules_v2 import check_body
from ._wire import error_from, request_id

if TYPE_CHECKING:
    from ._config import Settings


class V2Requests:
    """How a client builds its v2 requests: the model id is the call's ``model`` (or
    ``endpoint``, a deployed service's API name), else the client's, else
    ``ernie-lite-8k``; the ``appid`` header when the settings have one."""

    def __init__(self, settings: Settings, model: str | None, endpoint: str | None) -> None:
        self.settings = settings
        self.default_model = model or endpoint or DEFAULT_V2_MODEL
        self.url = settings.base_url + wire.V2_CHAT_PATH

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
        headers = {wire.V2_REQUEST_ID_HEADER: request_id} if request_id else {}
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
    body: dict[str, Any] = {"model": model, "messages": msgs}
    for key, value in params.items():
        if value is not None:
            body[key] = value
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    return body


def validate(body: Mapping[str, Any]) -> None:
    violation = check_body(body)
    if violation is not None:
        raise InvalidRequestError(violation.field, violation.rule, error_code=violation.code)


def bearer_query(lifetime: int = wire.BEARER_REQUESTED_LIFETIME) -> dict[str, str]:
    return {wire.BEARER_LIFETIME_PARAM: str(lifetime)}


def _seconds_until(stamp: Any) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime.now(timezone.utc)).total_seconds()


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
    except ValueError:
        body = None
    if isinstance(body, Mapping) and body.get("token") and status < 400:
        remaining = _seconds_until(body.get("expireTime"))
        return str(body["token"]), remaining if remaining is not None else float(lifetime)
    code = (body.get("code") if isinstance(body, Mapping) else None) or headers.get(
        wire.BCE_ERROR_CODE_HEADER
    )
    if code:
        message = (body.get("message") if isinstance(body, Mapping) else None) or headers.get(
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
