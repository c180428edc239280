"""Qianfan's wire facts, each written down once: hosts, paths, header names, query and body
names of the auth exchanges, key prefixes and lifetimes.

The client sends to these and the local server answers at them. Header names are lower case
(HTTP header names are case-insensitive); the server sends the spelling in ``*_SENT``.
Sources: ``shared/docs/protocol.md`` (v1, OAuth, signing) and ``protocol-v2.md`` (v2 chat,
short-term keys).
"""

from __future__ import annotations

from typing import Final

# -- hosts ---------------------------------------------------------------------------------
V1_BASE_URL: Final = "https://aip.baidubce.com"  # protocol.md section 1
V2_BASE_URL: Final = "https://qianfan.baidubce.com"  # protocol-v2.md "Endpoint"
IAM_BASE_URL: Final = "https://iam.bj.baidubce.com"  # protocol-v2.md, short-term keys

# -- paths ---------------------------------------------------------------------------------
V1_API_PREFIX: Final = "/rpc/2.0/ai_custom/v1/wenxinworkshop"
V1_CHAT_SEGMENT: Final = "/chat/"  # {prefix}/chat/{suffix or endpoint}
OAUTH_PATH: Final = "/oauth/2.0/token"
V2_PREFIX: Final = "/v2"
V2_CHAT_PATH: Final = "/v2/chat/completions"  # V2_PREFIX + the chat route
# The live model catalogue (protocol-v2-extensions.md section 4): an OpenAI model list.
V2_MODELS_PATH: Final = "/v2/models"
BEARER_PATH: Final = "/v1/BCE-BEARER/token"  # mint a short-term v2 key with IAM keys
# Batch inference (protocol-v2-extensions.md section 5): files, then batches over them.
V2_FILES_PATH: Final = "/v2/files"  # POST multipart upload, GET list; /{id}, /{id}/content
V2_BATCHES_PATH: Final = "/v2/batches"  # POST create, GET list; /{id}, /{id}/cancel
V2_FILE_CONTENT_SEGMENT: Final = "/content"
V2_BATCH_CANCEL_SEGMENT: Final = "/cancel"

# -- headers -------------------------------------------------------------------------------
V1_REQUEST_ID_HEADER: Final = "x-bce-request-id"  # BCE's; sent and read on v1 and BCE-BEARER
V2_REQUEST_ID_HEADER: Final = "x-request-id"  # v2 echoes the caller's
V1_REQUEST_ID_HEADER_SENT: Final = "X-Bce-Request-Id"
V2_REQUEST_ID_HEADER_SENT: Final = "X-Request-Id"
REQUEST_ID_HEADERS: Final = (V1_REQUEST_ID_HEADER, V2_REQUEST_ID_HEADER)
APPID_HEADER: Final = "appid"  # v2 application id
AUTHORIZATION_HEADER: Final = "authorization"
BCE_ERROR_CODE_HEADER: Final = "x-bce-error-code"
BCE_ERROR_MESSAGE_HEADER: Final = "x-bce-error-message"
RETRY_AFTER_HEADER: Final = "retry-after"
BCE_ERROR_CODE_HEADER_SENT: Final = "X-Bce-Error-Code"
BCE_ERROR_MESSAGE_HEADER_SENT: Final = "X-Bce-Error-Message"
RETRY_AFTER_HEADER_SENT: Final = "Retry-After"
BEARER_SCHEME: Final = "Bearer"

# -- streams -------------------------------------------------------------------------------
V2_STREAM_END: Final = "[DONE]"  # the data of a v2 stream's last event

# -- v1 OAuth (protocol.md section 1) --------------------------------------------------------
ACCESS_TOKEN_PARAM: Final = "access_token"  # v1 chat carries the token in the query
OAUTH_GRANT_TYPE: Final = "client_credentials"
OAUTH_GRANT_PARAM: Final = "grant_type"
OAUTH_CLIENT_ID_PARAM: Final = "client_id"  # the App API key
OAUTH_CLIENT_SECRET_PARAM: Final = "client_secret"  # the App secret key
OAUTH_LIFETIME: Final = 2_592_000  # 30 days: expires_in when a reply leaves it out


def oauth_params(ak: str, sk: str) -> dict[str, str]:
    """The OAuth query that exchanges an App API key and secret key for an access token."""
    return {
        OAUTH_GRANT_PARAM: OAUTH_GRANT_TYPE,
        OAUTH_CLIENT_ID_PARAM: ak,
        OAUTH_CLIENT_SECRET_PARAM: sk,
    }


# -- v2 keys (protocol-v2.md) ----------------------------------------------------------------
V2_KEY_PREFIX: Final = "bce-v3/"  # API keys look like bce-v3/ALTAK-<id>/<40 hex>
V2_KEY_ID_PREFIX: Final = "ALTAK-"
BEARER_LIFETIME_PARAM: Final = "expireInSeconds"
# The lifetimes BCE-BEARER accepts, and what it gives when none is asked for.
BEARER_MIN_LIFETIME: Final = 300
BEARER_MAX_LIFETIME: Final = 2_592_000
BEARER_DEFAULT_LIFETIME: Final = 1800
# What the client asks for: 12 hours, as the official SDK (QIANFAN_BEARER_TOKEN_EXPIRED_INTERVAL).
BEARER_REQUESTED_LIFETIME: Final = 43200


def is_v2_key(key: str | None) -> bool:
    """Whether ``key`` has the shape of a v2 API key (``bce-v3/...``)."""
    return bool(key) and str(key).startswith(V2_KEY_PREFIX)


def strip_v2_suffix(base_url: str) -> str:
    """An OpenAI-style v2 base URL (``https://qianfan.baidubce.com/v2``) names the same host
    as the bare one; the paths here add the ``/v2`` themselves."""
    base = base_url.rstrip("/")
    return base[: -len(V2_PREFIX)] if base.endswith(V2_PREFIX) else base
