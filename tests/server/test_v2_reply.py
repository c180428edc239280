"""v2 replies: the OpenAI shape with Baidu's extras, scripted rules, several tool calls,
tool_choice, tool results, response_format (validated against the schema), stop, max_tokens,
reasoning models, rule error codes in either protocol, and the request log."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from qianfan_chat._protocol.tokens import estimate_tokens
from qianfan_chat.server.engine import GREETING_REPLY

from .conftest import V2, V2_KEY, V2_MODEL, Api, user
from .schema_check import errors

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "parameters": {
                "type": "object",
                "properties": {"zone": {"type": "string", "format": "uuid"}},
                "required": ["zone"],
            },
        },
    },
]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
CALL_ID_RE = re.compile(r"call_[a-z0-9]{24}")


def choice(data: dict[str, Any]) -> dict[str, Any]:
    assert len(data["choices"]) == 1
    picked: dict[str, Any] = data["choices"][0]
    return picked


def calls_of(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``[(name, parsed arguments)]``, checking each call's shape and arguments' schema."""
    message = choice(data)["message"]
    assert message["content"] == ""
    assert choice(data)["finish_reason"] == "tool_calls"
    out = []
    for call in message["tool_calls"]:
        assert set(call) == {"id", "type", "function"}
        assert CALL_ID_RE.fullmatch(call["id"])
        assert call["type"] == "function"
        assert isinstance(call["function"]["arguments"], str)
        arguments = json.loads(call["function"]["arguments"])
        name = call["function"]["name"]
        if name in SCHEMAS:
            assert errors(arguments, SCHEMAS[name]) == []
        out.append((name, arguments))
    return out


def test_reply_shape(v2: V2) -> None:
    response = v2.post({"model": V2_MODEL, "messages": user("你好")})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-ratelimit-limit-requests"] == "300"
    data = response.json()
    assert set(data) == {"id", "object", "created", "model", "choices", "usage"}
    assert re.fullmatch(r"as-[a-z0-9]{10}", data["id"])
    assert (data["object"], data["model"]) == ("chat.completion", V2_MODEL)
    assert isinstance(data["created"], int)
    assert choice(data) == {
        "index": 0,
        "message": {"role": "assistant", "content": GREETING_REPLY},
        "finish_reason": "stop",
        "flag": 0,
        "ban_round": -1,
    }
    assert data["usage"] == {
        "prompt_tokens": 2,
        "completion_tokens": estimate_tokens(GREETING_REPLY),
        "total_tokens": 2 + estimate_tokens(GREETING_REPLY),
        "prompt_tokens_details": {"search_tokens": 0, "cached_tokens": 0},
    }


def test_log_entry(v2: V2) -> None:
    v2.ask("hi")
    entry = v2.log()[-1]
    assert (entry["method"], entry["path"], entry["status"]) == (
        "POST",
        "/v2/chat/completions",
        200,
    )
    assert (entry["error_code"], entry["key"], entry["stream"]) == (None, V2_KEY, False)
    assert json.loads(entry["body"])["model"] == V2_MODEL
    assert entry["headers"]["authorization"] == f"Bearer {V2_KEY}"


def test_context_messages_and_text_parts(v2: V2) -> None:
    messages = [
        {"role": "system", "content": "你是助手"},
        {"role": "developer", "content": "简短回答"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}],
        },
    ]
    data = v2.post({"model": V2_MODEL, "messages": messages}).json()
    assert choice(data)["message"]["content"] == GREETING_REPLY
    assert data["usage"]["prompt_tokens"] == sum(
        estimate_tokens(t) for t in ("你是助手", "简短回答", "hello")
    )


def test_rules_match_the_last_message_whatever_its_role(v2: V2) -> None:
    v2.server.add_rule(role="developer", contains="暗号", text="收到暗号")
    v2.server.add_rule(model="deepseek-v3", text="only deepseek")
    messages = [{"role": "user", "content": "hi"}, {"role": "developer", "content": "暗号"}]
    assert choice(v2.post({"model": V2_MODEL, "messages": messages}).json())["message"] == {
        "role": "assistant",
        "content": "收到暗号",
    }
    assert choice(v2.ask("x", model="deepseek-v3"))["message"]["content"] == "only deepseek"
    assert choice(v2.ask("x"))["message"]["content"] != "only deepseek"


def test_several_scripted_tool_calls(v2: V2) -> None:
    v2.server.add_rule(
        contains="北京和上海",
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "北京", "unit": "celsius", "days": 1}},
            {"name": "get_weather", "arguments": '{"city": "上海", "unit": "celsius", "days": 2}'},
            {"name": "get_time", "arguments": {"zone": "00000000-0000-4000-8000-000000000000"}},
        ],
    )
    data = v2.ask("北京和上海的天气", tools=TOOLS)
    calls = calls_of(data)
    assert [name for name, _ in calls] == ["get_weather", "get_weather", "get_time"]
    assert [args.get("city") for _, args in calls] == ["北京", "上海", None]
    ids = [c["id"] for c in choice(data)["message"]["tool_calls"]]
    assert len(set(ids)) == 3
    assert data["usage"]["completion_tokens"] > 0
    one = v2.ask("北京和上海的天气", tools=TOOLS, parallel_tool_calls=False)
    assert [name for name, _ in calls_of(one)] == ["get_weather"]


# (id, user text, tool_choice, scripted rules, expected call names or None for text)
CHOICES: list[tuple[str, str, Any, list[dict[str, Any]], list[str] | None]] = [
    ("auto-name-in-text", "call get_time please", "auto", [], ["get_time"]),
    ("auto-default", "call get_weather please", None, [], ["get_weather"]),
    ("auto-no-name", "what now?", "auto", [], None),
    ("none-name-in-text", "call get_weather please", "none", [], None),
    (
        "none-skips-call-rules",
        "天气",
        "none",
        [
            {"contains": "天气", "tool_calls": [{"name": "get_time"}]},
            {"contains": "天气", "text": "晴"},
        ],
        None,
    ),
    ("required-first-tool", "what now?", "required", [], ["get_weather"]),
    ("required-name-match", "use get_time", "required", [], ["get_time"]),
    (
        "required-skips-text-rules",
        "天气",
        "required",
        [{"contains": "天气", "text": "晴"}],
        ["get_weather"],
    ),
    (
        "named",
        "call get_weather please",
        {"type": "function", "function": {"name": "get_time"}},
        [],
        ["get_time"],
    ),
    (
        "named-keeps-scripted-arguments",
        "天气",
        {"type": "function", "function": {"name": "get_time"}},
        [
            {
                "contains": "天气",
                "tool_calls": [
                    {
                        "name": "get_weather",
                        "arguments": {"city": "北京", "unit": "celsius", "days": 1},
                    },
                    {
                        "name": "get_time",
                        "arguments": {"zone": "00000000-0000-4000-8000-00000000000a"},
                    },
                ],
            }
        ],
        ["get_time"],
    ),
]


@pytest.mark.parametrize(
    ("text", "tool_choice", "rules", "expected"),
    [r[1:] for r in CHOICES],
    ids=[r[0] for r in CHOICES],
)
def test_tool_choice(
    v2: V2, text: str, tool_choice: Any, rules: list[dict[str, Any]], expected: list[str] | None
) -> None:
    v2.server.add_rules(rules)
    fields: dict[str, Any] = {"tools": TOOLS}
    if tool_choice is not None:
        fields["tool_choice"] = tool_choice
    data = v2.ask(text, **fields)
    if expected is None:
        message = choice(data)["message"]
        assert "tool_calls" not in message
        assert message["content"]
        assert choice(data)["finish_reason"] == "stop"
        if rules:
            assert message["content"] == "晴"
        return
    calls = calls_of(data)
    assert [name for name, _ in calls] == expected
    if rules and "tool_calls" in rules[0]:
        assert calls[0][1] == {"zone": "00000000-0000-4000-8000-00000000000a"}


def test_tool_result_is_answered_from_its_content(v2: V2) -> None:
    messages = [
        {"role": "user", "content": "北京和上海天气"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "晴，25度"},
        {"role": "tool", "tool_call_id": "call_b", "content": "12:00"},
    ]
    data = v2.post({"model": V2_MODEL, "messages": messages, "tools": TOOLS}).json()
    assert choice(data)["message"]["content"] == "根据 get_time 的结果：12:00。"
    assert choice(data)["finish_reason"] == "stop"
    data = v2.post({"model": V2_MODEL, "messages": messages[:3], "tools": TOOLS}).json()
    assert choice(data)["message"]["content"] == "根据 get_weather 的结果：晴，25度。"


def test_json_object(v2: V2) -> None:
    data = v2.ask("你好", response_format={"type": "json_object"})
    assert json.loads(choice(data)["message"]["content"]) == {"reply": GREETING_REPLY}


# (id, schema)
JSON_SCHEMAS: list[tuple[str, dict[str, Any]]] = [
    ("weather", WEATHER),
    (
        "nested",
        {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "price": {"type": "number", "exclusiveMinimum": 0},
                        },
                        "required": ["name", "price"],
                    },
                },
                "total": {
                    "anyOf": [{"type": "null"}, {"type": "integer", "multipleOf": 5, "minimum": 7}]
                },
            },
            "required": ["items", "total"],
        },
    ),
    ("enum-at-top", {"type": "string", "enum": ["yes", "no"]}),
    ("empty-schema", {}),
]


@pytest.mark.parametrize("schema", [r[1] for r in JSON_SCHEMAS], ids=[r[0] for r in JSON_SCHEMAS])
def test_json_schema_reply_validates(v2: V2, schema: dict[str, Any]) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    data = v2.ask("随便说点什么", response_format=fmt)
    value = json.loads(choice(data)["message"]["content"])
    assert errors(value, schema) == []


def test_json_schema_text_can_be_scripted(v2: V2) -> None:
    v2.server.add_rule(text='{"city": "scripted"}')
    fmt = {"type": "json_schema", "json_schema": {"name": "a", "schema": WEATHER}}
    assert choice(v2.ask("x", response_format=fmt))["message"]["content"] == '{"city": "scripted"}'


def test_stop_and_max_tokens(v2: V2) -> None:
    v2.server.add_rule(text="一二三四五六七八九十。END 后面")
    stopped = choice(v2.ask("x", stop=["END"]))
    assert (stopped["message"]["content"], stopped["finish_reason"]) == (
        "一二三四五六七八九十。",
        "stop",
    )
    stopped = choice(v2.ask("x", stop="六"))
    assert stopped["message"]["content"] == "一二三四五"
    data = v2.ask("x", max_tokens=4)
    assert (choice(data)["message"]["content"], choice(data)["finish_reason"]) == (
        "一二三四",
        "length",
    )
    assert data["usage"]["completion_tokens"] == 4
    data = v2.ask("x", max_completion_tokens=2048)
    assert choice(data)["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("model", "reasons"),
    [
        ("deepseek-r1", True),
        ("ernie-x1-turbo-32k", True),
        ("deepseek-v3", False),
        (V2_MODEL, False),
    ],
)
def test_reasoning_models(v2: V2, model: str, reasons: bool) -> None:
    message = choice(v2.ask("你好", model=model))["message"]
    assert message["content"] == GREETING_REPLY
    assert bool(message.get("reasoning_content")) is reasons


def test_rule_flags(v2: V2) -> None:
    v2.server.add_rule(
        text="不安全", need_clear_history=True, ban_round=2, finish_reason="content_filter"
    )
    picked = choice(v2.ask("x"))
    assert (picked["flag"], picked["ban_round"], picked["finish_reason"]) == (
        2,
        2,
        "content_filter",
    )


# (id, rule error_code, error_msg, v2 status, v2 code, v2 message, v1 error_code)
RULE_ERRORS: list[tuple[str, int | str, str | None, int, str, str, int]] = [
    ("v1-rpm", 336501, None, 429, "rpm_rate_limit_exceeded", "Rate limit reached for RPM", 336501),
    ("v1-overload", 336100, None, 500, "internal_error", "Internal error", 336100),
    ("v1-token", 111, None, 401, "invalid_iam_token", "IAM Certification failed", 111),
    ("v1-custom-text", 336003, "bad top_p", 400, "invalid_argument", "bad top_p", 336003),
    ("v2-offline", "model_offline", None, 403, "model_offline", "The model is offline", 6),
    (
        "v2-tpm",
        "tpm_rate_limit_exceeded",
        None,
        429,
        "tpm_rate_limit_exceeded",
        "Rate limit reached for TPM",
        336502,
    ),
    ("v2-internal", "internal_error", "boom", 500, "internal_error", "boom", 336000),
]


@pytest.mark.parametrize(
    ("code", "msg", "status", "v2_code", "v2_message", "v1_code"),
    [r[1:] for r in RULE_ERRORS],
    ids=[r[0] for r in RULE_ERRORS],
)
def test_rule_errors_in_both_protocols(
    v2: V2,
    api: Api,
    code: int | str,
    msg: str | None,
    status: int,
    v2_code: str,
    v2_message: str,
    v1_code: int,
) -> None:
    v2.server.add_rule(contains="boom", error_code=code, error_msg=msg)
    got_status, error = v2.error({"model": V2_MODEL, "messages": user("boom")})
    assert (got_status, error["code"], error["message"]) == (status, v2_code, v2_message)
    v1 = api.chat({"messages": user("boom")})
    assert v1.status_code == 200
    assert v1.json()["error_code"] == v1_code


async def test_reply_async(v2: V2) -> None:
    v2.server.add_rule(
        contains="async", tool_calls=[{"name": "get_time", "arguments": {"zone": "z"}}]
    )
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            v2.server.v2_chat_url,
            headers=v2.headers(),
            json={"model": V2_MODEL, "messages": user("async"), "tools": TOOLS},
        )
    assert calls_of(response.json()) == [("get_time", {"zone": "z"})]
