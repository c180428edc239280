"""qianfan-chat: a fast, typed client for Baidu AI Cloud Qianfan chat models.

Code written for the official SDK's ``qianfan.ChatCompletion`` runs with
``import qianfan_chat as qianfan``::

    import qianfan_chat as qianfan

    chat = qianfan.ChatCompletion(model="ERNIE-Bot")
    print(chat.do(messages=[{"role": "user", "content": "你好"}])["result"])

Importing this package is cheap: the client (and httpx) load on first use of a name below;
the local server (``qianfan_chat.server``), the LangChain model (``qianfan_chat.langchain``)
and the CLI are never imported from here.
"""

from __future__ import annotations

from importlib import import_module

# Nothing is imported at import time, not even ``typing`` (about half of a bare import's cost
# was typing and what it pulls in): every name loads from its module on first use, below.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._errors import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        CredentialsError,
        InvalidRequestError,
        NotFoundError,
        PermissionDeniedError,
        QianfanError,
        QuotaExceededError,
        RateLimitError,
        ServerError,
        StreamInterruptedError,
        TokenRejectedError,
        UnknownModelError,
    )
    from ._messages import Messages, QfMessages, QfRole
    from ._response import QfRequest, QfResponse

    # The SDK's short names for the same classes.
    Role = QfRole
    Response = QfResponse

    from ._batch import BatchRequestFuture
    from ._batches import (
        Batch,
        Batches,
        BatchInput,
        BatchResult,
        BatchStatus,
        FileObject,
        Files,
        RequestCounts,
    )
    from ._catalogue import (
        CATALOGUE_TTL_SECONDS,
        CatalogueModel,
        alist_models,
        clear_catalogue_cache,
        cost_of,
        list_models,
    )
    from ._client import ChatCompletion, UnsupportedOptionWarning
    from ._config import Settings
    from ._images import TextOnlyModelWarning, image_data_url, image_part
    from ._sdk import (
        AK,
        SK,
        AccessKey,
        AccessToken,
        SecretKey,
        disable_log,
        enable_log,
        get_config,
    )
    from ._stream import AsyncChatStream, ChatStream
    from ._types import Citation, SearchResult
    from ._v1 import UnlistedParameterWarning

__version__ = "0.1.0"

# name -> the module that defines it (and, for the SDK's short names, the name it has there).
_ERRORS = (
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CredentialsError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "QianfanError",
    "QuotaExceededError",
    "RateLimitError",
    "ServerError",
    "StreamInterruptedError",
    "TokenRejectedError",
    "UnknownModelError",
)
_ALIASES = {"Role": "QfRole", "Response": "QfResponse"}
_LAZY = {
    **dict.fromkeys(_ERRORS, "._errors"),
    "Messages": "._messages",
    "QfMessages": "._messages",
    "QfRole": "._messages",
    "Role": "._messages",
    "QfRequest": "._response",
    "QfResponse": "._response",
    "Response": "._response",
    "AK": "._sdk",
    "SK": "._sdk",
    "AccessKey": "._sdk",
    "AccessToken": "._sdk",
    "SecretKey": "._sdk",
    "disable_log": "._sdk",
    "enable_log": "._sdk",
    "get_config": "._sdk",
    "BatchRequestFuture": "._batch",
    "UnsupportedOptionWarning": "._client",
    "Batch": "._batches",
    "BatchInput": "._batches",
    "BatchResult": "._batches",
    "BatchStatus": "._batches",
    "Batches": "._batches",
    "FileObject": "._batches",
    "Files": "._batches",
    "RequestCounts": "._batches",
    "ChatCompletion": "._client",
    "Settings": "._config",
    "ChatStream": "._stream",
    "AsyncChatStream": "._stream",
    "UnlistedParameterWarning": "._v1",
    "CATALOGUE_TTL_SECONDS": "._catalogue",
    "CatalogueModel": "._catalogue",
    "alist_models": "._catalogue",
    "clear_catalogue_cache": "._catalogue",
    "cost_of": "._catalogue",
    "list_models": "._catalogue",
    "TextOnlyModelWarning": "._images",
    "image_data_url": "._images",
    "image_part": "._images",
    "Citation": "._types",
    "SearchResult": "._types",
}

__all__ = [
    "AK",
    "CATALOGUE_TTL_SECONDS",
    "SK",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccessKey",
    "AccessToken",
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchInput",
    "BatchRequestFuture",
    "BatchResult",
    "BatchStatus",
    "Batches",
    "CatalogueModel",
    "ChatCompletion",
    "ChatStream",
    "Citation",
    "CredentialsError",
    "FileObject",
    "Files",
    "InvalidRequestError",
    "Messages",
    "NotFoundError",
    "PermissionDeniedError",
    "QfMessages",
    "QfRequest",
    "QfResponse",
    "QfRole",
    "QianfanError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestCounts",
    "Response",
    "Role",
    "SearchResult",
    "SecretKey",
    "ServerError",
    "Settings",
    "StreamInterruptedError",
    "TextOnlyModelWarning",
    "TokenRejectedError",
    "UnknownModelError",
    "UnlistedParameterWarning",
    "UnsupportedOptionWarning",
    "alist_models",
    "clear_catalogue_cache",
    "cost_of",
    "disable_log",
    "enable_log",
    "get_config",
    "image_data_url",
    "image_part",
    "list_models",
]


def __getattr__(name: str) -> Any:
    if name == "errors":  # Baidu's SDK names: ``qianfan.errors.APIError``
        value = import_module(".errors", __name__)
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qianfan_chat' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
