"""Qianfan's error-code tables, written down once for the client and the local server.

Source: ``shared/docs/protocol.md`` section 1 (v1 ``error_code`` integers) and
``protocol-v2.md`` (v2 string codes). The client classifies an error with
:func:`category_of` (the exception class of each category is the client's); the local server
answers with :data:`V1_MESSAGES` and :data:`V2_ERRORS`.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

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
# texts (336003, 336006) carry them in :mod:`.rules_v1`.
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

# v2 (OpenAI-compatible) string codes, protocol-v2.md "Errors": one row per code with the HTTP
# status and ``type`` Baidu answers with, its message (Baidu's where known, else a plain
# description) and the category the client classifies it by.


class V2Error(NamedTuple):
    """One v2 error code. ``other_status_category``: the category when the reply's status is
    not ``status`` (``invalid_model`` is 400 "model is empty", but Baidu answers an unknown
    model with 401: a wrong name, not bad credentials)."""

    status: int
    type: str
    message: str
    category: Category
    other_status_category: Category | None = None


_BAD = "invalid_request_error"
_DENIED = "access_denied"
_LIMIT = "rate_limit_exceeded"
V2_ERRORS: Final[dict[str, V2Error]] = {
    "malformed_json": V2Error(400, _BAD, "Malformed JSON", "invalid_request"),
    "invalid_model": V2Error(400, _BAD, "model is empty", "invalid_request", "not_found"),
    "invalid_messages": V2Error(400, _BAD, "Invalid messages", "invalid_request"),
    "characters_too_long": V2Error(
        400, _BAD, "the input characters are too long", "invalid_request"
    ),
    "tokens_too_long": V2Error(400, _BAD, "the input tokens are too long", "invalid_request"),
    "invalid_argument": V2Error(400, _BAD, "Invalid argument", "invalid_request"),
    "invalid_iam_token": V2Error(401, _BAD, "IAM Certification failed", "auth"),
    "invalid_appid": V2Error(401, _BAD, "Invalid appid", "auth"),
    "no_parameter_permission": V2Error(401, _BAD, "No permission for this parameter", "permission"),
    "account_overdue": V2Error(403, _DENIED, "The account is overdue", "quota"),
    "model_offline": V2Error(403, _DENIED, "The model is offline", "permission"),
    "system_unsafe": V2Error(403, _DENIED, "The system content is unsafe", "permission"),
    "user_setting_unsafe": V2Error(403, _DENIED, "The user setting is unsafe", "permission"),
    "functions_unsafe": V2Error(403, _DENIED, "The functions are unsafe", "permission"),
    "method_not_supported": V2Error(405, _BAD, "Only POST is supported", "invalid_request"),
    "rpm_rate_limit_exceeded": V2Error(429, _LIMIT, "Rate limit reached for RPM", "rate_limit"),
    "tpm_rate_limit_exceeded": V2Error(429, _LIMIT, "Rate limit reached for TPM", "rate_limit"),
    # QPS has no documented v2 code; the local server uses the per-user one.
    "user_rate_limit_exceeded": V2Error(429, _LIMIT, "Rate limit reached for user", "rate_limit"),
    "input_tpm_rate_limit_exceeded": V2Error(
        429, _LIMIT, "Rate limit reached for input TPM", "rate_limit"
    ),
    "output_tpm_rate_limit_exceeded": V2Error(
        429, _LIMIT, "Rate limit reached for output TPM", "rate_limit"
    ),
    "cluster_rate_limit_exceeded": V2Error(
        429, _LIMIT, "Rate limit reached for cluster", "rate_limit"
    ),
    "cluster_rpm_rate_limit_exceeded": V2Error(
        429, _LIMIT, "Rate limit reached for cluster RPM", "rate_limit"
    ),
    "cluster_tpm_rate_limit_exceeded": V2Error(
        429, _LIMIT, "Rate limit reached for cluster TPM", "rate_limit"
    ),
    "preemptible_rate_limit_exceeded": V2Error(
        429, _LIMIT, "Rate limit reached for preemptible resources", "rate_limit"
    ),
    "internal_error": V2Error(500, "internal_error", "Internal error", "server"),
    "dispatch_internal_error": V2Error(500, "internal_error", "Dispatch internal error", "server"),
}
V2_INTERNAL: Final = "internal_error"
# A code the table does not know yet is still classified by its ending (Baidu adds new
# ``*_rate_limit_exceeded`` codes as it adds limits).
V2_CODE_ENDINGS: Final[tuple[tuple[str, Category], ...]] = (("rate_limit_exceeded", "rate_limit"),)
V2_TOKEN_ERROR: Final = "invalid_iam_token"  # a minted key was rejected: mint a new one, once
# Every code that says "the token or key you sent was rejected".
TOKEN_REJECTED: Final[frozenset[int | str]] = frozenset({*TOKEN_ERRORS, V2_TOKEN_ERROR})


UNKNOWN_MODEL_MESSAGE: Final = "The model does not exist or you do not have access to it."


def category_of(code: int | str | None, status: int | None) -> Category | None:
    """The category of an error: by the code's table row, else by the HTTP status."""
    category: Category | None = None
    if isinstance(code, int) and not isinstance(code, bool):
        category = V1_CATEGORY.get(code)
    elif isinstance(code, str):
        row = V2_ERRORS.get(code)
        if row is not None:
            other = row.other_status_category
            category = row.category if other is None or status == row.status else other
        else:
            category = next((c for end, c in V2_CODE_ENDINGS if code.endswith(end)), None)
    if category is None and status is not None:
        category = category_for_status(status)
    return category


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
