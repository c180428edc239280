"""The v2 (OpenAI-compatible) request rules, for the client and the local server alike.

Source: ``shared/docs/protocol-v2.md`` ("Request"). Each check returns a
:class:`~qianfan_chat._rules.Violation` whose ``code`` is the v2 string code the server answers
with (HTTP 400): ``invalid_model``, ``invalid_messages`` or ``invalid_argument``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .content import content_text
from .images import IMAGE_URL_PART, PART_TYPES, check_image_part, has_image_parts
from .rules_v1 import STOP_MAX_CHARS, STOP_MAX_ITEMS, Violation, _is_number

ROLES = ("system", "developer", "user", "assistant", "tool")
TOOL_CHOICES = ("none", "auto", "required")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
_BOOL_KEYS = ("stream", "parallel_tool_calls", "enable_thinking")


def _msg(field: str, rule: str, message: str = "Invalid messages") -> Violation:
    return Violation("invalid_messages", message, field, rule)


def _arg(field: str, rule: str, message: str | None = None) -> Violation:
    return Violation(
        "invalid_argument", message or f"Invalid argument: {field} {rule}", field, rule
    )


def check_messages(messages: Any) -> Violation | None:
    if not isinstance(messages, list) or not messages:
        return _msg("messages", "must be a non-empty list", "messages can not be empty")
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, Mapping):
            return _msg(where, "must be an object with role and content")
        role = msg.get("role")
        if role not in ROLES:
            return _msg(f"{where}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
        content = msg.get("content")
        if content is not None and content_text(content) is None:
            v = _check_parts(f"{where}.content", content)
            if v:
                return v
        tool_calls = msg.get("tool_calls")
        if tool_calls is not None:
            if role != "assistant":
                return _msg(f"{where}.tool_calls", "only an assistant message may carry them")
            if not isinstance(tool_calls, list) or not all(
                isinstance(c, Mapping)
                and isinstance(c.get("id", ""), str)
                and c.get("type", "function") == "function"
                and isinstance(c.get("function"), Mapping)
                and isinstance(c["function"].get("name"), str)
                and c["function"]["name"].strip()
                and isinstance(c["function"].get("arguments", ""), str)
                for c in tool_calls
            ):
                return _msg(
                    f"{where}.tool_calls",
                    "each must be {id: string, type: function, function: {name, arguments: "
                    "JSON text}}",
                )
        if role == "tool" and not (
            isinstance(msg.get("tool_call_id"), str) and msg["tool_call_id"]
        ):
            return _msg(f"{where}.tool_call_id", "a tool message needs the id of its tool call")
    last = messages[-1]
    if (
        not has_image_parts(last.get("content"))
        and not (content_text(last.get("content")) or "").strip()
    ):
        return _msg(
            f"messages[{len(messages) - 1}].content",
            "the last message's content may not be blank",
            "the content of the last message can not be blank",
        )
    return None


def _check_parts(where: str, content: Any) -> Violation | None:
    """Content parts (protocol-v2-extensions.md section 1): text, image_url, video_url."""
    rule = "must be a string or a list of text, image_url or video_url parts"
    if not isinstance(content, list):
        return _msg(where, rule)
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind not in PART_TYPES:
            return _msg(f"{where}[{j}]", rule)
        if kind == "text" and not isinstance(part.get("text"), str):
            return _msg(f"{where}[{j}].text", "must be a string")
        if kind == IMAGE_URL_PART:
            bad = check_image_part(part)
            if bad:
                return _arg(f"{where}[{j}].{bad[0]}", bad[1])
    return None


def _check_tools(tools: Any) -> Violation | None:
    if not isinstance(tools, list) or not tools:
        return _arg("tools", "must be a non-empty list")
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            return _arg(where, "must be {type: function, function: {name, parameters}}")
        fn = tool.get("function")
        if not isinstance(fn, Mapping):
            return _arg(f"{where}.function", "must be an object with name and parameters")
        name = fn.get("name")
        if not isinstance(name, str) or not name.strip():
            return _arg(f"{where}.function.name", "must be a non-blank string")
        if fn.get("parameters") is not None and not isinstance(fn["parameters"], Mapping):
            return _arg(f"{where}.function.parameters", "must be a JSON Schema object")
    return None


def _check_tool_choice(choice: Any) -> Violation | None:
    if isinstance(choice, str):
        if choice in TOOL_CHOICES:
            return None
        return _arg("tool_choice", f"must be one of {', '.join(TOOL_CHOICES)} or a function")
    if (
        isinstance(choice, Mapping)
        and choice.get("type") == "function"
        and isinstance(choice.get("function"), Mapping)
        and isinstance(choice["function"].get("name"), str)
    ):
        return None
    return _arg("tool_choice", 'must be a string or {"type": "function", "function": {"name"}}')


def _range(
    body: Mapping[str, Any], key: str, low: float, high: float, low_open: bool
) -> Violation | None:
    value = body.get(key)
    if value is None:
        return None
    interval = f"{'(' if low_open else '['}{low}, {high}]"
    if not _is_number(value) or not low <= value <= high or (low_open and value == low):
        return _arg(key, f"must be a number in {interval}, got {value!r}")
    return None


def check_body(body: Mapping[str, Any]) -> Violation | None:
    """Every v2 body rule that can be checked without the model's own limits."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        return Violation("invalid_model", "model is empty", "model", "must be a non-empty string")
    v = check_messages(body.get("messages"))
    if v:
        return v
    for key, low, high, low_open in (
        ("temperature", 0.0, 1.0, True),
        ("top_p", 0.0, 1.0, False),
        ("penalty_score", 1.0, 2.0, False),
        ("frequency_penalty", -2.0, 2.0, False),
        ("presence_penalty", -2.0, 2.0, False),
    ):
        v = _range(body, key, low, high, low_open)
        if v:
            return v
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            return _arg("stop", "must be a string or a list of strings")
        if len(stop) > STOP_MAX_ITEMS:
            return _arg("stop", f"at most {STOP_MAX_ITEMS} items, got {len(stop)}")
        for i, s in enumerate(stop):
            if len(s) > STOP_MAX_CHARS:
                return _arg(f"stop[{i}]", f"each item at most {STOP_MAX_CHARS} characters")
    for key in ("max_tokens", "max_completion_tokens", "seed"):
        value = body.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            return _arg(key, "must be a positive integer")
    if body.get("tools") is not None:
        v = _check_tools(body["tools"])
        if v:
            return v
    if body.get("tool_choice") is not None:
        v = _check_tool_choice(body["tool_choice"])
        if v:
            return v
    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, Mapping) else None
        if kind not in RESPONSE_FORMATS:
            return _arg("response_format", f"type must be one of {', '.join(RESPONSE_FORMATS)}")
        if kind == "json_schema" and not isinstance(fmt.get("json_schema"), Mapping):
            return _arg("response_format.json_schema", "must be an object with a schema")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, Mapping):
        return _arg("stream_options", "must be an object")
    for key in _BOOL_KEYS:
        if body.get(key) is not None and not isinstance(body[key], bool):
            return _arg(key, "must be true or false")
    return None


def check_output_tokens(body: Mapping[str, Any], low: int, high: int | None) -> Violation | None:
    """``max_tokens`` / ``max_completion_tokens`` within a model's range ``[low, high]``
    (protocol-v2.md: "per-model range, e.g. [2, 2048] for most 8k models"); ``high`` None
    checks the lower bound only. Run after :func:`check_body` (which checks the types)."""
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if isinstance(value, int) and (value < low or (high is not None and value > high)):
            interval = f"[{low}, {high}]" if high is not None else f"at least {low}"
            return _arg(key, f"must be in {interval} for this model, got {value}")
    return None
