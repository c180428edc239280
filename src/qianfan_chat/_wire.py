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

from ._errors import APIError, api_error_class
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


def error_from(status: int, headers: Mapping[str, str], body: Any) -> APIError | None:
    """The error a reply carries, or None. Baidu sends ``{"error_code", "error_msg"}`` mostly
    with HTTP 200, sometimes with a non-2xx status or only a ``X-Bce-Error-Code`` header."""
    code: int | str | None = None
    msg: str | None = None
    if isinstance(body, Mapping):
        if body.get("error_code") not in (None, 0):
            code = body["error_code"]
            msg = str(body.get("error_msg") or "")
        elif isinstance(body.get("error"), Mapping):  # v2 shape behind a v1 route
            code = body["error"].get("code")
            msg = str(body["error"].get("message") or "")
    if code is None and status < 400:
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
    except ValueError:
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
    except ValueError:
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
