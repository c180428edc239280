"""Error codes across the two protocols: a rule or fault written with a v1 integer code also
works on the v2 route, and one written with a v2 string code also works on v1.

The local server's own choice (Baidu documents no mapping), by meaning:

============================== =====================================================
v1 ``error_code``              v2 ``code`` (HTTP status from ``V2_ERRORS``)
============================== =====================================================
18 (QPS)                       ``user_rate_limit_exceeded`` (429)
4 (cluster limit)              ``cluster_rate_limit_exceeded`` (429)
336501 / 336502 (RPM / TPM)    ``rpm_rate_limit_exceeded`` / ``tpm_rate_limit_exceeded``
13, 14, 100, 110, 111          ``invalid_iam_token`` (401)
15 (app does not exist)        ``invalid_appid`` (401)
6 (no permission)              ``no_parameter_permission`` (401)
3, 336004, 336005              ``invalid_model`` (401, "The model does not exist ...")
17, 19 (quota)                 ``account_overdue`` (403)
336002                         ``malformed_json`` (400)
336006                         ``invalid_messages`` (400)
336001, 336003, 336104, 336105 ``invalid_argument`` (400)
336101                         ``method_not_supported`` (405)
1, 2, 336000, 336100, others   ``internal_error`` (500)
============================== =====================================================

The reverse direction (:func:`to_v1`) takes the v2 code's first v1 code in that table, else
goes by category (rate limit 18, auth 110, server 336000, ...).
"""

from __future__ import annotations

from typing import Final

from .._protocol.codes import UNKNOWN_MODEL_MESSAGE, V1_CATEGORY, V1_MESSAGES, V2_ERRORS

Code = int | str
INTERNAL: Final = "internal_error"

V1_TO_V2: Final[dict[int, str]] = {
    18: "user_rate_limit_exceeded",
    4: "cluster_rate_limit_exceeded",
    336501: "rpm_rate_limit_exceeded",
    336502: "tpm_rate_limit_exceeded",
    110: "invalid_iam_token",
    111: "invalid_iam_token",
    13: "invalid_iam_token",
    14: "invalid_iam_token",
    100: "invalid_iam_token",
    15: "invalid_appid",
    6: "no_parameter_permission",
    336005: "invalid_model",
    336004: "invalid_model",
    3: "invalid_model",
    17: "account_overdue",
    19: "account_overdue",
    336002: "malformed_json",
    336006: "invalid_messages",
    336003: "invalid_argument",
    336001: "invalid_argument",
    336104: "invalid_argument",
    336105: "invalid_argument",
    336101: "method_not_supported",
    336000: INTERNAL,
    336100: INTERNAL,
    2: INTERNAL,
    1: INTERNAL,
}
_BY_CATEGORY_V2: Final = {
    "rate_limit": "user_rate_limit_exceeded",
    "auth": "invalid_iam_token",
    "permission": "no_parameter_permission",
    "quota": "account_overdue",
    "invalid_request": "invalid_argument",
    "not_found": "invalid_model",
}
_V2_TO_V1: Final[dict[str, int]] = {}
for _v1, _v2 in V1_TO_V2.items():
    _V2_TO_V1.setdefault(_v2, _v1)
_BY_TYPE_V1: Final = {"rate_limit_exceeded": 18, "internal_error": 336000, "access_denied": 6}

# The v2 code a bad HTTP status (an ``http_status`` fault) answers with by default.
V2_STATUS_CODES: Final[dict[int, str]] = {
    400: "invalid_argument",
    401: "invalid_iam_token",
    403: "account_overdue",
    404: "invalid_model",
    405: "method_not_supported",
    429: "rpm_rate_limit_exceeded",
}


def is_v2_code(value: object) -> bool:
    """A v2 string code the server can answer with (a key of ``V2_ERRORS``)."""
    return isinstance(value, str) and value in V2_ERRORS


def to_v2(code: Code) -> str:
    """The v2 string code for a v1 integer (a v2 code is returned as is)."""
    if isinstance(code, str):
        return code
    mapped = V1_TO_V2.get(code)
    if mapped is not None:
        return mapped
    return _BY_CATEGORY_V2.get(V1_CATEGORY.get(code, "server"), INTERNAL)


def to_v1(code: Code) -> int:
    """The v1 integer code for a v2 string (a v1 code is returned as is)."""
    if not isinstance(code, str):
        return code
    mapped = _V2_TO_V1.get(code)
    if mapped is not None:
        return mapped
    row = V2_ERRORS.get(code)
    status, kind = (row.status, row.type) if row else (500, INTERNAL)
    if status == 401:
        return 110
    return _BY_TYPE_V1.get(kind, 336003 if status < 500 else 336000)


def v1_message(code: Code, message: str | None = None) -> tuple[int, str]:
    """``(error_code, error_msg)`` for a v1 reply to ``code`` (Baidu's text unless given)."""
    number = to_v1(code)
    return number, message or V1_MESSAGES.get(number, "")


def v2_error(code: Code, message: str | None = None) -> tuple[int, str, str, str]:
    """``(HTTP status, code, type, message)`` for a v2 reply to ``code``. ``invalid_model``
    here is always the unknown-model case: 401 with Baidu's "does not exist" text (only the
    request rules answer the 400 "model is empty" one)."""
    name = to_v2(code)
    if name == "invalid_model":
        return 401, name, "invalid_request_error", message or UNKNOWN_MODEL_MESSAGE
    row = V2_ERRORS.get(name, V2_ERRORS[INTERNAL])
    return row.status, name, row.type, message or row.message


def v2_for_status(status: int) -> str:
    """The v2 code an HTTP status answers with when a fault names none."""
    return V2_STATUS_CODES.get(status, INTERNAL if status >= 500 else "invalid_argument")
