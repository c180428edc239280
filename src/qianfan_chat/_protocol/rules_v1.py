"""The v1 request rules, written down once for the client (reject before the network) and the
local server (answer with Baidu's error code and text).

Sources: seed document 001 (the SDK page's parameter table) and ``protocol.md`` section 1. Each
check returns a :class:`Violation` carrying Baidu's code and message text (what the server
answers) and a rule sentence for the client's :class:`~qianfan_chat.InvalidRequestError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .tokens import message_tokens

SYSTEM_MAX_CHARS = 1024
STOP_MAX_ITEMS = 4
STOP_MAX_CHARS = 20

# Body keys whose value must be a bool / a string when present (protocol.md, request body).
_BOOL_KEYS = (
    "stream",
    "disable_search",
    "enable_citation",
    "enable_trace",
    "enable_system_memory",
)
_STR_KEYS = ("user_id", "system_memory_id")


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule: Baidu's ``error_code`` and ``error_msg``, the field and the rule."""

    code: int | str  # v1: an error_code integer; v2: a string code (HTTP 400)
    message: str
    field: str
    rule: str


def _is_number(value: Any) -> bool:
    """An int or a finite float (JSON has no NaN or Infinity; bool is not a number here)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(
    field: str, rule: str, message: str = "Invalid parameter", code: int = 336003
) -> Violation:
    return Violation(code, message, field, rule)


def _check_range(
    body: Mapping[str, Any], key: str, low: float, high: float, *, low_open: bool = False
) -> Violation | None:
    if key not in body or body[key] is None:
        return None
    value = body[key]
    interval = f"{'(' if low_open else '['}{low}, {high}]"
    if not _is_number(value):
        return _bad(key, f"must be a number in {interval}")
    if not low <= value <= high or (low_open and value == low):
        return _bad(key, f"must be in {interval}, got {value}", f"{key} range is {interval}")
    return None


def check_messages(messages: Any) -> Violation | None:
    """The ``messages`` rules: non-empty, odd count, alternating roles, content, names."""
    if not isinstance(messages, list) or not messages:
        return _bad("messages", "must be a non-empty list", "the messages can not be empty")
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, Mapping):
            return _bad(where, "must be an object with role and content")
        role = msg.get("role")
        if not isinstance(role, str):
            return _bad(f"{where}.role", "must be a string")
    if len(messages) % 2 == 0:
        return Violation(
            336006,
            "the length of messages must be an odd number",
            "messages",
            f"must have an odd number of items (user, assistant, ..., user), got {len(messages)}",
        )
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        role = msg["role"]
        if i % 2 == 1 and role != "assistant":
            return Violation(
                336006,
                "the role of message with odd index in the messages must be assistant",
                f"{where}.role",
                f"must be 'assistant' at an odd index, got {role!r}",
            )
        if i % 2 == 0 and role not in ("user", "function"):
            return Violation(
                336006,
                "the role of message with even index in the messages must be user or function",
                f"{where}.role",
                f"must be 'user' or 'function' at an even index, got {role!r}",
            )
        function_call = msg.get("function_call")
        content = msg.get("content")
        if content is not None and not isinstance(content, str):
            return _bad(f"{where}.content", "must be a string")
        if function_call is not None:
            if role != "assistant":
                return _bad(f"{where}.function_call", "only an assistant message may carry it")
            if not isinstance(function_call, Mapping):
                return _bad(f"{where}.function_call", "must be an object with name and arguments")
            name = function_call.get("name")
            if not isinstance(name, str) or not name.strip():
                return _bad(
                    f"{where}.function_call.name",
                    "must be a non-blank string",
                    "function_call's name can't be blank",
                )
            arguments = function_call.get("arguments")
            if arguments is not None and not isinstance(arguments, str):
                return _bad(f"{where}.function_call.arguments", "must be a string (JSON text)")
        elif not content:
            return _bad(
                f"{where}.content",
                "must be a non-empty string (only an assistant turn with function_call may be "
                "empty)",
                "message content can not be empty",
            )
        if role == "function":
            name = msg.get("name")
            if not isinstance(name, str) or not name.strip():
                return _bad(
                    f"{where}.name",
                    "a function message needs the name of the function that produced it",
                    "the name of function message can not be empty",
                )
    return None


def check_functions(functions: Any) -> Violation | None:
    if not isinstance(functions, list) or not functions:
        return _bad("functions", "must be a non-empty list of function descriptions")
    for i, fn in enumerate(functions):
        where = f"functions[{i}]"
        if not isinstance(fn, Mapping):
            return _bad(where, "must be an object with name, description and parameters")
        name = fn.get("name")
        if not isinstance(name, str) or not name.strip():
            return _bad(
                f"{where}.name", "must be a non-blank string", "function's name can't be blank"
            )
        params = fn.get("parameters")
        if params is not None and not isinstance(params, Mapping):
            return _bad(f"{where}.parameters", "must be a JSON Schema object")
    return None


def check_body(body: Mapping[str, Any]) -> Violation | None:
    """Every v1 body rule that can be checked without the model's own limits, first one wins."""
    v = check_messages(body.get("messages"))
    if v:
        return v
    for key, low, high, low_open in (
        ("temperature", 0.0, 1.0, True),
        ("top_p", 0.0, 1.0, False),
        ("penalty_score", 1.0, 2.0, False),
    ):
        v = _check_range(body, key, low, high, low_open=low_open)
        if v:
            return v
    if body.get("top_k") is not None and not _is_number(body["top_k"]):
        return _bad("top_k", "must be a number")
    stop = body.get("stop")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            return _bad("stop", "must be a list of strings")
        if len(stop) > STOP_MAX_ITEMS:
            return _bad(
                "stop", f"at most {STOP_MAX_ITEMS} items, got {len(stop)}", "stop size is too large"
            )
        for i, s in enumerate(stop):
            if len(s) > STOP_MAX_CHARS:
                return _bad(
                    f"stop[{i}]",
                    f"each item at most {STOP_MAX_CHARS} characters, got {len(s)}",
                    "stop element length is too large",
                )
    system = body.get("system")
    if system is not None:
        if not isinstance(system, str):
            return _bad("system", "must be a string")
        if len(system) > SYSTEM_MAX_CHARS:
            return _bad(
                "system",
                f"at most {SYSTEM_MAX_CHARS} characters, got {len(system)}",
                "system length is too long",
            )
    if body.get("functions") is not None:
        v = check_functions(body["functions"])
        if v:
            return v
        if system:
            return _bad(
                "system",
                "cannot be used together with functions",
                "system and functions can not be set at the same time",
            )
    for key in ("max_output_tokens", "min_output_tokens"):
        value = body.get(key)
        if value is not None and (not _is_number(value) or value != int(value) or value < 1):
            return _bad(key, "must be a positive integer")
    for key in _BOOL_KEYS:
        if body.get(key) is not None and not isinstance(body[key], bool):
            return _bad(key, "must be true or false")
    for key in _STR_KEYS:
        if body.get(key) is not None and not isinstance(body[key], str):
            return _bad(key, "must be a string")
    return None


def truncate_history(
    messages: Sequence[Mapping[str, Any]], limit: int, counts: Sequence[int] | None = None
) -> list[Mapping[str, Any]]:
    """Drop the oldest turns until the total is within ``limit`` tokens (seed document 001,
    messages rule 4). Turns go in user/assistant pairs so the count stays odd; the last message
    always stays. ``counts``: each message's tokens, when the caller has them already.

    Linear time: the first kept index moves forward over the counts, and the messages are
    sliced once (a list copy per dropped pair made 160,000 messages take seconds)."""
    if counts is None:
        counts = [message_tokens(m) for m in messages]
    total = sum(counts)
    start, last = 0, len(messages) - 1
    while total > limit and start < last:
        total -= counts[start] + (counts[start + 1] if start + 1 <= last else 0)
        start += 2
    return list(messages[start:])
