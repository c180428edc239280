"""One exception tree for everything qianfan-chat raises.

::

    QianfanError
    ├── InvalidRequestError        bad input, caught before any network call (field + rule,
    │   │                          and the error_code / error_msg Baidu would have answered)
    │   └── UnknownModelError      a model name the table does not know (lists close names)
    ├── CredentialsError           no usable credentials (names the variables to set)
    ├── APIError                   the server answered with an error (error_code, error_msg,
    │   │                          request_id, status_code)
    │   ├── AuthenticationError    13, 14, 100, HTTP 401, OAuth errors
    │   │   └── TokenRejectedError 110, 111, v2 invalid_iam_token (after the one refresh)
    │   ├── PermissionDeniedError  6, 15, 336004, HTTP 403
    │   ├── RateLimitError         4, 18, 336501, 336502, HTTP 429
    │   ├── BadRequestError        336001-336006, 336101-336105, HTTP 400 (the server's verdict)
    │   ├── NotFoundError          3, 336005, HTTP 404 (wrong model or endpoint)
    │   ├── QuotaExceededError     17, 19, account_overdue
    │   └── ServerError            1, 2, 336000, 336100, HTTP 5xx
    └── APIConnectionError         the request did not complete
        ├── APITimeoutError        connect or read took longer than request_timeout
        └── StreamInterruptedError a stream ended before its last event

Exception text never contains credentials: nothing here formats a URL or a header.

Baidu's SDK names (``qianfan.errors``) are bases in this same tree, so code written for the SDK
catches what the SDK would have raised there (:mod:`qianfan_chat.errors` spells them):

============================ ============================================================
SDK name                     what it catches here
============================ ============================================================
``APIError``                 :class:`APIError` (the server answered with an error) and
                             :class:`InvalidRequestError` (input Baidu would have refused
                             with that code); ``error_code``, ``error_msg``, ``req_id``
``RequestError``             the request failed: :class:`APIError` and
                             :class:`APIConnectionError`
``RequestTimeoutError``      :class:`APITimeoutError`
``AuthError``                :class:`AuthenticationError`
``AccessTokenExpiredError``  :class:`TokenRejectedError` (110, 111, ``invalid_iam_token``)
``BearerTokenExpiredError``  the same
``InvalidArgumentError``     :class:`InvalidRequestError`, :class:`CredentialsError`
``InternalError``            :class:`ServerError`
============================ ============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._protocol.codes import TOKEN_REJECTED, Category, category_of


class QianfanError(Exception):
    """Root of every error qianfan-chat raises."""


# -- Baidu's SDK names, as bases (see the module docstring) --------------------------------


class SdkAPIError(QianfanError):
    """The SDK's ``errors.APIError``: an error with Baidu's ``error_code`` and ``error_msg``."""

    error_code: int | str | None
    error_msg: str
    request_id: str | None

    @property
    def req_id(self) -> str | None:
        """The SDK's name for :attr:`request_id`."""
        return self.request_id


class SdkRequestError(QianfanError):
    """The SDK's ``errors.RequestError``: the request failed."""


class SdkRequestTimeoutError(QianfanError):
    """The SDK's ``errors.RequestTimeoutError``."""


class SdkAuthError(QianfanError):
    """The SDK's ``errors.AuthError``."""


class SdkAccessTokenExpiredError(QianfanError):
    """The SDK's ``errors.AccessTokenExpiredError``."""


class SdkBearerTokenExpiredError(QianfanError):
    """The SDK's ``errors.BearerTokenExpiredError``."""


class SdkInvalidArgumentError(QianfanError):
    """The SDK's ``errors.InvalidArgumentError``."""


class SdkInternalError(QianfanError):
    """The SDK's ``errors.InternalError``."""


# -- the tree ------------------------------------------------------------------------------


class InvalidRequestError(SdkAPIError, SdkInvalidArgumentError, ValueError):
    """A request that breaks a documented rule; raised before anything is sent.

    ``field`` names the offending field (``messages[2].content``), ``rule`` says what it
    must satisfy, ``error_code`` / ``error_msg`` are the code and message Baidu's server would
    answer with (``error_msg`` defaults to ``"{field}: {rule}"``); ``request_id`` is None.
    """

    def __init__(
        self,
        field: str,
        rule: str,
        *,
        error_code: int | str | None = None,
        error_msg: str | None = None,
    ) -> None:
        self.field = field
        self.rule = rule
        self.error_code = error_code
        self.error_msg = error_msg or f"{field}: {rule}"
        self.request_id = None
        super().__init__(f"{field}: {rule}")


class UnknownModelError(InvalidRequestError):
    """A model name that is not in the model table; ``suggestions`` lists close names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(
            "model",
            f"unknown model {name!r}{hint} (or pass endpoint= for a deployed service)",
        )


class CredentialsError(SdkInvalidArgumentError):
    """No usable credentials were found when a call needed them."""


class APIError(SdkAPIError, SdkRequestError):
    """The server answered with an error."""

    def __init__(
        self,
        error_msg: str,
        *,
        error_code: int | str | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers) if headers else {}
        parts = [f"error_code={error_code}" if error_code is not None else None]
        parts.append(f"status={status_code}" if status_code is not None else None)
        parts.append(f"request_id={request_id}" if request_id else None)
        detail = ", ".join(p for p in parts if p)
        super().__init__(f"{error_msg} ({detail})" if detail else error_msg)


class AuthenticationError(APIError, SdkAuthError):
    """Credentials or token rejected."""


class TokenRejectedError(
    AuthenticationError, SdkAccessTokenExpiredError, SdkBearerTokenExpiredError
):
    """The access token (v1 110/111) or short-term key (v2 ``invalid_iam_token``) was
    rejected, and a fresh one did not help (or could not be fetched: a ready token)."""


class PermissionDeniedError(APIError):
    """The account may not use this model, app or feature."""


class RateLimitError(APIError):
    """QPS, RPM or TPM limit reached."""


class BadRequestError(APIError):
    """The server rejected the request's content."""


class NotFoundError(APIError):
    """Unknown model, endpoint or API name."""


class QuotaExceededError(APIError):
    """Daily or total quota used up, or the account is in arrears."""


class ServerError(APIError, SdkInternalError):
    """The service failed or is overloaded."""


class APIConnectionError(SdkRequestError):
    """The request could not be completed (connection refused, reset, protocol error)."""


class APITimeoutError(APIConnectionError, SdkRequestTimeoutError):
    """Connecting, or waiting for the next bytes of a reply, took longer than the timeout."""


class StreamInterruptedError(APIConnectionError):
    """A stream ended before its final event: the answer is incomplete.

    ``received`` holds the text that did arrive, so nothing is lost.
    """

    def __init__(self, message: str, *, received: str = "", request_id: str | None = None):
        self.received = received
        self.request_id = request_id
        super().__init__(message)


_CLASS_FOR: dict[Category, type[APIError]] = {
    "auth": AuthenticationError,
    "permission": PermissionDeniedError,
    "rate_limit": RateLimitError,
    "invalid_request": BadRequestError,
    "not_found": NotFoundError,
    "quota": QuotaExceededError,
    "server": ServerError,
}


def api_error_class(error_code: int | str | None, status_code: int | None) -> type[APIError]:
    """Choose the exception class: by the code table first, then by the HTTP status."""
    if isinstance(error_code, int | str) and error_code in TOKEN_REJECTED:
        return TokenRejectedError
    category = category_of(error_code, status_code)
    return _CLASS_FOR[category] if category else APIError
