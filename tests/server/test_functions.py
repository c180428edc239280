"""Function calling: generated arguments validate against the schema, name matching,
tool_choice forcing, the function-result follow-up, and scripted calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Api, user
from .schema_check import errors

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
    },
}
TIME = {"name": "get_time", "description": "Now", "parameters": {"type": "object"}}

SCHEMAS: list[tuple[str, dict[str, Any]]] = [
    (
        "required-string",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    ),
    (
        "enum-integer-boolean",
        {
            "type": "object",
            "properties": {
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 3, "maximum": 7},
                "detailed": {"type": "boolean"},
            },
            "required": ["unit", "days", "detailed"],
        },
    ),
    (
        "nested-objects-and-arrays",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "order": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "minLength": 8},
                        "items": {
                            "type": "array",
                            "minItems": 2,
                            "items": {
                                "type": "object",
                                "properties": {
                                    "sku": {"type": "string"},
                                    "qty": {"type": "integer", "exclusiveMinimum": 0},
                                },
                                "required": ["sku", "qty"],
                            },
                        },
                    },
                    "required": ["id", "items"],
                }
            },
            "required": ["order"],
        },
    ),
    (
        "number-bounds",
        {
            "type": "object",
            "properties": {
                "price": {"type": "number", "exclusiveMinimum": 10},
                "ratio": {"type": "number", "maximum": 0.5},
                "step": {"type": "integer", "multipleOf": 5, "minimum": 12},
                "below": {"type": "integer", "exclusiveMaximum": -3},
            },
            "required": ["price", "ratio", "step", "below"],
        },
    ),
    (
        "optional-and-type-lists",
        {
            "type": "object",
            "properties": {
                "note": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 3}]},
                "tags": {"type": ["array", "null"], "items": {"type": "string"}},
                "when": {"type": "string", "format": "date-time"},
            },
            "required": ["note", "tags", "when"],
        },
    ),
    ("no-parameters", {"type": "object", "properties": {}}),
    (
        "no-required-list",
        {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}},
    ),
    (
        "all-of",
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"const": 7}}, "required": ["b"]},
            ]
        },
    ),
    (
        "defaults-and-one-of",
        {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "default": "fast"},
                "size": {"oneOf": [{"type": "integer", "minimum": 100}, {"type": "string"}]},
            },
            "required": ["mode", "size"],
        },
    ),
]


def call_of(data: dict[str, Any], *, generated: bool = True) -> dict[str, Any]:
    assert data["finish_reason"] == "function_call", data
    assert data["result"] == ""
    call: dict[str, Any] = data["function_call"]
    assert set(call) == {"name", "arguments", "thoughts"}
    assert isinstance(call["arguments"], str)
    if generated:  # A scripted call carries the rule's thoughts, empty unless given.
        assert call["thoughts"]
    return call


@pytest.mark.parametrize("schema", [r[1] for r in SCHEMAS], ids=[r[0] for r in SCHEMAS])
def test_generated_arguments_validate(api: Api, schema: dict[str, Any]) -> None:
    fn = {"name": "tool_x", "description": "d", "parameters": schema}
    data = api.ask("please use tool_x", "completions", functions=[fn])
    call = call_of(data)
    assert call["name"] == "tool_x"
    arguments = json.loads(call["arguments"])
    assert isinstance(arguments, dict)
    assert errors(arguments, schema) == []
    assert data["usage"]["completion_tokens"] > 0


# (id, question, expected function or None for a text answer)
NAMED = [
    ("exact", "call get_weather for Beijing", "get_weather"),
    ("case-insensitive", "GET_WEATHER please", "get_weather"),
    ("underscore-as-space", "what does get weather say?", "get_weather"),
    ("second-function", "what is get_time now", "get_time"),
    ("not-mentioned", "tell me a story", None),
]


@pytest.mark.parametrize(("text", "name"), [r[1:] for r in NAMED], ids=[r[0] for r in NAMED])
def test_function_named_in_question_is_called(api: Api, text: str, name: str | None) -> None:
    data = api.ask(text, "completions", functions=[WEATHER, TIME])
    if name is None:
        assert data["finish_reason"] == "normal"
        assert "function_call" not in data
    else:
        assert call_of(data)["name"] == name


FORCED = [
    ("not-mentioned", "tell me a story", "get_time"),
    ("other-mentioned", "get_weather in Paris", "get_time"),
]


@pytest.mark.parametrize(("text", "forced"), [r[1:] for r in FORCED], ids=[r[0] for r in FORCED])
def test_tool_choice_forces_a_function(api: Api, text: str, forced: str) -> None:
    choice = {"type": "function", "function": {"name": forced}}
    data = api.ask(text, "completions", functions=[WEATHER, TIME], tool_choice=choice)
    assert call_of(data)["name"] == forced


def test_tool_choice_none_answers_text(api: Api) -> None:
    data = api.ask("get_weather please", functions=[WEATHER], tool_choice="none")
    assert data["finish_reason"] == "normal"


def test_function_result_follow_up(api: Api) -> None:
    first = api.ask("get_weather in 北京", "completions", functions=[WEATHER])
    call = call_of(first)
    messages = [
        *user("get_weather in 北京"),
        {"role": "assistant", "content": "", "function_call": call},
        {"role": "function", "name": "get_weather", "content": '{"temp": 25}'},
    ]
    data = api.chat({"messages": messages, "functions": [WEATHER]}, "completions").json()
    assert data["finish_reason"] == "normal"
    assert data["result"] == '根据 get_weather 的结果：{"temp": 25}。'


def test_rule_function_call(api: Api) -> None:
    api.server.add_rule(
        contains="天气",
        function_call={"name": "get_weather", "arguments": {"city": "上海"}, "thoughts": "查"},
    )
    call = call_of(api.ask("今天天气如何", "completions", functions=[WEATHER]))
    assert call == {"name": "get_weather", "arguments": '{"city": "上海"}', "thoughts": "查"}


def test_rule_call_overridden_by_forced_tool_choice(api: Api) -> None:
    api.server.add_rule(contains="天气", function_call={"name": "get_weather", "arguments": "{}"})
    choice = {"type": "function", "function": {"name": "get_time"}}
    data = api.ask("天气", "completions", functions=[WEATHER, TIME], tool_choice=choice)
    assert call_of(data)["name"] == "get_time"


def test_v1_reply_carries_the_first_of_several_tool_calls(api: Api) -> None:
    api.server.add_rule(
        contains="both",
        tool_calls=[
            {"name": "get_time", "arguments": "{}"},
            {"name": "get_weather", "arguments": {"city": "x"}},
        ],
    )
    call = call_of(api.ask("both please", functions=[WEATHER, TIME]), generated=False)
    assert call == {"name": "get_time", "arguments": "{}", "thoughts": ""}


def test_forced_function_picked_among_several_scripted_calls() -> None:
    """A forced function that a rule scripts second is still the one answered, with the
    scripted arguments (not generated ones)."""
    from qianfan_chat.server.engine import EngineRequest, ReplyEngine

    engine = ReplyEngine(
        [
            {
                "contains": "both",
                "tool_calls": [
                    {"name": "first", "arguments": {"a": 1}},
                    {"name": "second", "arguments": {"b": 2}},
                ],
            }
        ]
    )
    functions = [
        {"name": "first", "parameters": {"type": "object"}},
        {"name": "second", "parameters": {"type": "object"}},
    ]
    reply = engine.reply(
        EngineRequest(
            model="ERNIE-Bot",
            messages=[{"role": "user", "content": "do both"}],
            functions=functions,
            forced_function="second",
        )
    )
    assert [c.name for c in reply.calls] == ["second"]
    assert json.loads(reply.calls[0].arguments) == {"b": 2}
