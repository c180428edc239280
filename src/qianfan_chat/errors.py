"""Baidu's SDK exception names (``qianfan.errors``), mapped onto qianfan-chat's one tree, so
code written for the SDK catches what the SDK would have raised there::

    import qianfan_chat as qianfan

    try:
        qianfan.ChatCompletion().do(messages=[{"role": "user", "content": ""}])
    except qianfan.errors.APIError as e:      # also our checks before the network
        print(e.error_code, e.error_msg, e.req_id)

Each name is a base class of the exceptions this library raises (``_errors.py`` has the table):
``APIError`` catches server errors and the input Baidu would have refused, ``RequestError``
every failed request, ``RequestTimeoutError`` timeouts, ``AuthError`` rejected credentials,
``AccessTokenExpiredError`` / ``BearerTokenExpiredError`` a rejected token or key,
``InvalidArgumentError`` bad input and missing credentials, ``InternalError`` server failures.
The SDK's other names exist so that imports and ``except`` clauses keep working; this library
raises none of them.
"""

from __future__ import annotations

from ._errors import (
    QianfanError,
)
from ._errors import (
    SdkAccessTokenExpiredError as AccessTokenExpiredError,
)
from ._errors import (
    SdkAPIError as APIError,
)
from ._errors import (
    SdkAuthError as AuthError,
)
from ._errors import (
    SdkBearerTokenExpiredError as BearerTokenExpiredError,
)
from ._errors import (
    SdkInternalError as InternalError,
)
from ._errors import (
    SdkInvalidArgumentError as InvalidArgumentError,
)
from ._errors import (
    SdkRequestError as RequestError,
)
from ._errors import (
    SdkRequestTimeoutError as RequestTimeoutError,
)


class NotImplmentError(QianfanError):  # (sic) the SDK's spelling
    """The SDK's name for a feature it does not implement; never raised here."""


class ArgumentNotFoundError(InvalidArgumentError):
    """The SDK's name for a missing argument; never raised here."""


class ValidationError(Exception):
    """The SDK's name (outside its tree, as there); never raised here."""


class QianfanRequestError(Exception):
    """The SDK's name (outside its tree, as there); never raised here."""


class FileSizeOverflow(Exception):
    """The SDK's name (outside its tree, as there); never raised here."""


__all__ = [
    "APIError",
    "AccessTokenExpiredError",
    "ArgumentNotFoundError",
    "AuthError",
    "BearerTokenExpiredError",
    "FileSizeOverflow",
    "InternalError",
    "InvalidArgumentError",
    "NotImplmentError",
    "QianfanError",
    "QianfanRequestError",
    "RequestError",
    "RequestTimeoutError",
    "ValidationError",
]
