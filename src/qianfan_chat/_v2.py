"""The v2 (OpenAI-compatible) chat protocol as pure functions: body, checks, the short-term
bearer key minted from IAM keys. No I/O here.

Spec: ``shared/docs/protocol-v2.md`` and ``protocol.md`` section 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from ._errors import AuthenticationError, InvalidRequestError
from ._protocol import wire
from ._protocol.rules_v2 import check_body
from ._wire import error_from, request_id


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
