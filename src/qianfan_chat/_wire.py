"""Reading replies, for both API versions: JSON, typed errors, request ids, stream chunks.

v1 errors are ``{"error_code", "error_msg"}``, mostly with HTTP 200; v2 errors are
``{"error": {"code", "message", "type"}}`` with a real 4xx/5xx status (protocol.md sections 1
and 2). Either shape, a non-2xx status alone, or only a ``X-Bce-Error-Code`` header becomes the
exception class the code table names. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import APIError, InvalidRequestError, api_error_class
from ._protocol import wire
from ._protocol.sse import ServerSentEvent


def request_id(headers: Mapping[str, str], body: Any = None) -> str | None:
    """The call's request id: BCE's header (v1), the echoed ``X-Request-Id`` (v2), else the
    body's ``id``."""
    for name in wire.REQUEST_ID_HEADERS:
        rid = headers.get(name)
        if rid:
            return rid
    if isinstance(body, Mapping):
        value = body.get("id") or body.get("request_id") or body.get("requestId")
        return str(value) if value else None
    return None


_MAX_TEXT = 1000  # Longest error text or code taken from a reply (a hostile one may be huge).


def _code(value: Any) -> int | str | None:
    """An error code as the tree carries it: an int or a short string. Anything else a broken
    peer sends (a list, an object, a bool) becomes its JSON text, so it can still be compared
    and hashed (``{"error_code": [110]}`` once made a TypeError)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text[:_MAX_TEXT]


def _text(value: Any) -> str:
    return (value if isinstance(value, str) else str(value))[:_MAX_TEXT] if value else ""


def error_from(status: int, headers: Mapping[str, str], body: Any) -> APIError | None:
    """The error a reply carries, or None. Baidu sends ``{"error_code", "error_msg"}`` mostly
    with HTTP 200, sometimes with a non-2xx status or only a ``X-Bce-Error-Code`` header. A
    3xx is an error too: the client follows no redirects, so its body is not the answer."""
    code: int | str | None = None
    msg: str | None = None
    if isinstance(body, Mapping):
        raw = body.get("error_code")
        if raw is not None and raw != 0 and raw is not False:
            code = _code(raw)
            msg = _text(body.get("error_msg"))
        elif isinstance(body.get("error"), Mapping):  # v2 shape behind a v1 route
            code = _code(body["error"].get("code"))
            msg = _text(body["error"].get("message"))
    if code is None and status < 300:
        return None
    if code is None:
        header_code = headers.get(wire.BCE_ERROR_CODE_HEADER)
        code = header_code or None
        msg = headers.get(wire.BCE_ERROR_MESSAGE_HEADER) or f"HTTP {status}"
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    cls = api_error_class(code, status)
    return cls(
        msg or f"HTTP {status}",
        error_code=code,
        request_id=request_id(headers, body),
        status_code=status,
        body=body,
        headers=headers,
    )


def decode_json(content: bytes, status: int, headers: Mapping[str, str]) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the stack
        err = error_from(status, headers, None) if status >= 400 else None
        if err is not None:
            raise err from None
        raise APIError(
            "the server's reply is not JSON",
            status_code=status,
            request_id=request_id(headers),
            headers=headers,
        ) from None


def chunk_body(event: ServerSentEvent, status: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """The JSON of one stream event; an error event raises its typed error."""
    try:
        data = json.loads(event.data)
    except (ValueError, RecursionError):
        raise APIError(
            f"a stream event is not JSON: {event.data[:80]!r}",
            status_code=status,
            request_id=request_id(headers),
        ) from None
    if not isinstance(data, dict):
        raise APIError("a stream event is not a JSON object", status_code=status)
    err = error_from(status, headers, data)
    if err is not None:
        raise err
    return data


def check_header(field: str, value: str) -> str:
    """``value`` if it can be sent as an HTTP header value: printable ASCII (RFC 9110 field
    values; httpx encodes them as ASCII), else :class:`InvalidRequestError` before the network.
    The value itself is never quoted: it may be a credential."""
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise InvalidRequestError(
            field,
            "must be printable ASCII (it is sent in an HTTP header): no control characters "
            "or non-ASCII letters",
        )
    if value != value.strip():
        raise InvalidRequestError(field, "must not begin or end with whitespace")
    return value


def seconds(value: Any, default: float) -> float:
    """A lifetime a reply states (``expires_in``): a positive finite number, else ``default``
    (a hostile ``"abc"``, ``[1]`` or ``1e999`` must not escape as TypeError/OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return default
    return number if 0 < number < float("inf") else default
