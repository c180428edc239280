"""``GET /v1/BCE-BEARER/token?expireInSeconds=N``: a short-term v2 API key minted from IAM keys
(protocol-v2.md "Short-term API key from IAM keys"; the signature is protocol.md section 3).

The request must carry a ``bce-auth-v1`` signature by one of ``ServerConfig.iam_keys`` (the
signed headers include ``host``: an explicit list must name it, an empty one is the default set,
which has it). ``N`` is 300..2592000 seconds, 1800 when absent. The reply is HTTP 201::

    {"userId": "...", "token": "bce-v3/ALTAK-<20 alnum>/<40 hex>", "status": "enable",
     "createTime": "2024-11-28T06:09:57.000Z", "expireTime": "..."}

and the token is then a Bearer key on the v2 chat route until ``N`` seconds have passed (or
``LocalServer.expire_api_key`` / an ``expire_token`` fault ends it sooner). Refusals use BCE's
shape, ``{"requestId", "code", "message"}`` plus ``X-Bce-Error-Code`` / ``X-Bce-Error-Message``
headers: 401 ``InvalidHTTPAuthHeader`` (missing or malformed), ``SignatureDoesNotMatch``,
``RequestExpired``; 403 ``InvalidAccessKeyId``; 400 ``InvalidParameter`` (a bad ``N``); 405
``MethodNotAllowed`` (not GET). Faults with ``route="iam"`` (or ``any``) apply here: ``latency``,
``drop``, ``http_status`` (BCE's body, the code per status: 5xx ``InternalError`` / 503
``ServiceUnavailable``, 401/403 ``AccessDenied``, 429 ``RequestLimitExceeded``).
"""

from __future__ import annotations

from .._protocol import wire
from .faults import Fault
from .routing import RouteApp
from .wire import Exchange

_AUTHORIZATION = wire.AUTHORIZATION_HEADER.encode()
_ERROR_CODE = wire.BCE_ERROR_CODE_HEADER_SENT.encode()
_ERROR_MESSAGE = wire.BCE_ERROR_MESSAGE_HEADER_SENT.encode()

# BCE's public error codes: (HTTP status, message). Statuses for the signature failures follow
# the local server's rule: 401 for a bad or missing signature, 403 for an unknown access key.
BCE_ERRORS: dict[str, tuple[int, str]] = {
    "InvalidHTTPAuthHeader": (
        401,
        "The HTTP authorization header is invalid. Consult the service documentation for details.",
    ),
    "SignatureDoesNotMatch": (
        401,
        "The request signature we calculated does not match the signature you provided. "
        "Check your Secret Access Key and signing method. Consult the service documentation "
        "for details.",
    ),
    "RequestExpired": (401, "Request has expired."),
    "InvalidAccessKeyId": (403, "The Access Key ID you provided does not exist."),
    "AccessDenied": (403, "Access denied."),
    "InvalidParameter": (
        400,
        f"{wire.BEARER_LIFETIME_PARAM} must be an integer from {wire.BEARER_MIN_LIFETIME} "
        f"to {wire.BEARER_MAX_LIFETIME}.",
    ),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "RequestLimitExceeded": (429, "Request rate limit exceeded."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "ServiceUnavailable": (503, "Service is temporarily unavailable. Please try again."),
}
_STATUS_CODES = {401: "AccessDenied", 403: "AccessDenied", 429: "RequestLimitExceeded"}


def status_code(status: int) -> str:
    """The BCE code an ``http_status`` fault answers with."""
    if status == 503:
        return "ServiceUnavailable"
    return _STATUS_CODES.get(status, "InternalError" if status >= 500 else "InvalidParameter")


def lifetime(value: str | None) -> int | None:
    """``expireInSeconds`` as seconds (1800 when absent), or None when it is not allowed."""
    if value is None:
        return wire.BEARER_DEFAULT_LIFETIME
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    seconds = int(text)
    return seconds if wire.BEARER_MIN_LIFETIME <= seconds <= wire.BEARER_MAX_LIFETIME else None


async def send_bce_error(
    ex: Exchange,
    code: str,
    message: str | None = None,
    *,
    status: int | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    table_status, table_message = BCE_ERRORS.get(code, BCE_ERRORS["InternalError"])
    text = message or table_message
    headers = [
        (_ERROR_CODE, code.encode()),
        (_ERROR_MESSAGE, text.encode("latin-1", "replace")),
        *(extra_headers or ()),
    ]
    await ex.send_json(
        {"requestId": ex.request_id, "code": code, "message": text},
        status=status or table_status,
        error_code=code,
        extra_headers=headers,
    )


class IamApp(RouteApp):
    """ASGI app for the BCE-BEARER route."""

    async def handle(self, ex: Exchange) -> None:
        await self.token(ex)

    async def internal_error(self, ex: Exchange) -> None:
        await send_bce_error(ex, "InternalError")

    async def fault_error(
        self, ex: Exchange, fault: Fault, extra_headers: list[tuple[bytes, bytes]]
    ) -> None:
        # Only http_status faults get here (FaultInjector.pick skips error_code on this route),
        # and those always have a status.
        status = fault.status or 500
        await send_bce_error(
            ex, status_code(status), fault.error_msg, status=status, extra_headers=extra_headers
        )

    async def token(self, ex: Exchange) -> None:
        state = self.state
        config = state.config
        if ex.method != "GET":
            await send_bce_error(ex, "MethodNotAllowed")
            return
        if await ex.read_body(config.max_body_bytes) is None:
            await send_bce_error(ex, "InvalidParameter", "request body too large", status=413)
            return
        # No token or stream here: only latency, drop and http_status faults can fire.
        plan = state.faults.pick(route="iam", path=ex.path)
        if plan is not None and (await self.apply_plan(ex, plan))[0]:
            return
        authorization = ex.header(_AUTHORIZATION)
        if not authorization:
            await send_bce_error(ex, "InvalidHTTPAuthHeader", "Missing Authorization header.")
            return
        key, reason = self.check_request_signature(ex, authorization)
        if key is None:
            await send_bce_error(ex, reason or "SignatureDoesNotMatch")
            return
        ex.entry.key = key
        seconds = lifetime(ex.query.get(wire.BEARER_LIFETIME_PARAM))
        if seconds is None:
            await send_bce_error(ex, "InvalidParameter")
            return
        await ex.send_json(state.api_keys.mint(key, seconds), status=201)
