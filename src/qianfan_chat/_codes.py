"""Qianfan's error-code tables, written down once for the client and the local server.

Source: ``shared/docs/protocol.md`` section 1 (v1 ``error_code`` integers) and
``protocol-v2.md`` (v2 string codes). The client maps a code to an exception class through
:data:`V1_CATEGORY` / :data:`V2_CATEGORY`; the local server answers with :data:`V1_MESSAGES`.
"""

from __future__ import annotations

from typing import Final, Literal

Category = Literal[
    "auth", "permission", "rate_limit", "invalid_request", "not_found", "quota", "server"
]

# Token errors: the right reaction is one refresh and one resend (protocol.md section 1).
TOKEN_INVALID: Final = 110
TOKEN_EXPIRED: Final = 111
TOKEN_ERRORS: Final = frozenset({TOKEN_INVALID, TOKEN_EXPIRED})

# Codes worth another attempt after a backoff (the list; 15 is deliberately absent:
# "app does not exist" never heals by waiting, the official SDK retrying it is a mistake).
V1_RETRYABLE: Final = frozenset({2, 18, 336100, 336501, 336502})

# Baidu's own message texts, as the local server sends them. Rules that have more specific
# texts (336003, 336006) carry them in :mod:`qianfan_chat._rules`.
V1_MESSAGES: Final[dict[int, str]] = {
    1: "Unknown error",
    2: "Service temporarily unavailable",
    3: "Unsupported openapi method",
    4: "Open api request limit reached",
    6: "No permission to access data",
    13: "Get service token failed",
    14: "IAM Certification failed",
    15: "app not exists or create failed",
    17: "Open api daily request limit reached",
    18: "Open api qps request limit reached",
    19: "Open api total request limit reached",
    100: "Invalid parameter",
    110: "Access token invalid or no longer valid",
    111: "Access token expired",
    336000: "Internal error",
    336001: "Invalid Argument",
    336002: "Invalid JSON",
    336003: "Invalid parameter",
    336004: "Permission error for accessing this model",
    336005: "API name not exist",
    336006: "the length of messages must be an odd number",
    336100: "Server high load, please try again later",
    336101: "Invalid HTTP Method",
    336104: "Invalid system",
    336105: "Invalid user_setting",
    336501: "Rate limit reached for RPM",
    336502: "Rate limit reached for TPM",
}

V1_CATEGORY: Final[dict[int, Category]] = {
    1: "server",
    2: "server",
    3: "not_found",
    4: "rate_limit",
    6: "permission",
    13: "auth",
    14: "auth",
    15: "permission",
    17: "quota",
    18: "rate_limit",
    19: "quota",
    100: "auth",
    110: "auth",
    111: "auth",
    336000: "server",
    336001: "invalid_request",
    336002: "invalid_request",
    336003: "invalid_request",
    336004: "permission",
    336005: "not_found",
    336006: "invalid_request",
    336100: "server",
    336101: "invalid_request",
    336104: "invalid_request",
    336105: "invalid_request",
    336501: "rate_limit",
    336502: "rate_limit",
}

# v2 (OpenAI-compatible) string codes, protocol-v2.md "Errors".
V2_CATEGORY: Final[dict[str, Category]] = {
    "malformed_json": "invalid_request",
    "invalid_messages": "invalid_request",
    "characters_too_long": "invalid_request",
    "tokens_too_long": "invalid_request",
    "invalid_argument": "invalid_request",
    "invalid_iam_token": "auth",
    "invalid_appid": "auth",
    "no_parameter_permission": "permission",
    "account_overdue": "quota",
    "model_offline": "permission",
    "system_unsafe": "permission",
    "user_setting_unsafe": "permission",
    "functions_unsafe": "permission",
    "method_not_supported": "invalid_request",
    "internal_error": "server",
    "dispatch_internal_error": "server",
}


# v2 errors the local server answers with: code -> (HTTP status, type, message). Messages are
# Baidu's where known (protocol-v2.md), else a plain description. An unknown model is
# ``invalid_model`` too, but with HTTP 401 and UNKNOWN_MODEL_MESSAGE (Baidu's own choice).
V2_ERRORS: Final[dict[str, tuple[int, str, str]]] = {
    "malformed_json": (400, "invalid_request_error", "Malformed JSON"),
    "invalid_model": (400, "invalid_request_error", "model is empty"),
    "invalid_messages": (400, "invalid_request_error", "Invalid messages"),
    "characters_too_long": (400, "invalid_request_error", "the input characters are too long"),
    "tokens_too_long": (400, "invalid_request_error", "the input tokens are too long"),
    "invalid_argument": (400, "invalid_request_error", "Invalid argument"),
    "invalid_iam_token": (401, "invalid_request_error", "IAM Certification failed"),
    "invalid_appid": (401, "invalid_request_error", "Invalid appid"),
    "no_parameter_permission": (401, "invalid_request_error", "No permission for this parameter"),
    "account_overdue": (403, "access_denied", "The account is overdue"),
    "model_offline": (403, "access_denied", "The model is offline"),
    "system_unsafe": (403, "access_denied", "The system content is unsafe"),
    "user_setting_unsafe": (403, "access_denied", "The user setting is unsafe"),
    "functions_unsafe": (403, "access_denied", "The functions are unsafe"),
    "method_not_supported": (405, "invalid_request_error", "Only POST is supported"),
    "rpm_rate_limit_exceeded": (429, "rate_limit_exceeded", "Rate limit reached for RPM"),
    "tpm_rate_limit_exceeded": (429, "rate_limit_exceeded", "Rate limit reached for TPM"),
    # QPS has no documented v2 code; the local server uses the per-user one.
    "user_rate_limit_exceeded": (429, "rate_limit_exceeded", "Rate limit reached for user"),
    "input_tpm_rate_limit_exceeded": (
        429,
        "rate_limit_exceeded",
        "Rate limit reached for input TPM",
    ),
    "output_tpm_rate_limit_exceeded": (
        429,
        "rate_limit_exceeded",
        "Rate limit reached for output TPM",
    ),
    "cluster_rate_limit_exceeded": (429, "rate_limit_exceeded", "Rate limit reached for cluster"),
    "cluster_rpm_rate_limit_exceeded": (
        429,
        "rate_limit_exceeded",
        "Rate limit reached for cluster RPM",
    ),
    "cluster_tpm_rate_limit_exceeded": (
        429,
        "rate_limit_exceeded",
        "Rate limit reached for cluster TPM",
    ),
    "preemptible_rate_limit_exceeded": (
        429,
        "rate_limit_exceeded",
        "Rate limit reached for preemptible resources",
    ),
    "internal_error": (500, "internal_error", "Internal error"),
    "dispatch_internal_error": (500, "internal_error", "Dispatch internal error"),
}


UNKNOWN_MODEL_MESSAGE: Final = "The model does not exist or you do not have access to it."


def category_for_status(status: int) -> Category | None:
    """The category an HTTP status implies when the body names no known code."""
    if status == 429:
        return "rate_limit"
    if status >= 500:
        return "server"
    if status == 401:
        return "auth"
    if status == 403:
        return "permission"
    if status == 404:
        return "not_found"
    if 400 <= status < 500:
        return "invalid_request"
    return None
