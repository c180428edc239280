"""The pure converters, as tables: LangChain conversations to v1 bodies, v1 replies and stream
chunks to LangChain messages and back, tools and ``tool_choice``. No server, no network."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from qianfan_chat._protocol.rules_v1 import check_messages
from qianfan_chat.langchain import (
    content_to_text,
    convert_chunk,
    convert_messages,
    convert_response,
    convert_to_qianfan_function,
    convert_tool_choice,
)
from qianfan_chat.langchain._convert import is_last_chunk, tool_call_id, usage_metadata


def call(name: str, args: dict[str, Any], id_: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": id_, "type": "tool_call"}


def fc(name: str, args: dict[str, Any]) -> dict[str, str]:
    return {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str, function_call: dict[str, str] | None = None) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": "assistant", "content": text}
    if function_call is not None:
        turn["function_call"] = function_call
    return turn


def function(name: str, text: str) -> dict[str, str]:
    return {"role": "function", "name": name, "content": text}


# -- LangChain conversation -> v1 (system, messages) ------------------------------------------

# (id, messages, keyword arguments, expected system, expected messages)
CONVERSATIONS: list[tuple[str, list[BaseMessage], dict[str, Any], str | None, list[Any]]] = [
    ("one-human", [HumanMessage("hi")], {}, None, [user("hi")]),
    (
        "system-to-field",
        [SystemMessage("Be brief."), HumanMessage("hi")],
        {},
        "Be brief.",
        [user("hi")],
    ),
    (
        "persona-then-system-messages",
        [SystemMessage("A"), HumanMessage("hi"), SystemMessage("B")],
        {"system": "persona"},
        "persona\n\nA\n\nB",
        [user("hi")],
    ),
    (
        "system-folded-when-functions",
        [SystemMessage("Be brief."), HumanMessage("hi")],
        {"fold_system": True},
        None,
        [user("Be brief.\n\nhi")],
    ),
    ("system-only-becomes-user", [SystemMessage("Say hi.")], {}, None, [user("Say hi.")]),
    (
        "humans-merged",
        [HumanMessage("a"), HumanMessage("b"), AIMessage("c"), HumanMessage("d")],
        {},
        None,
        [user("a\n\nb"), assistant("c"), user("d")],
    ),
    (
        "ais-merged",
        [HumanMessage("a"), AIMessage("b"), AIMessage("c"), HumanMessage("d")],
        {},
        None,
        [user("a"), assistant("b\n\nc"), user("d")],
    ),
    (
        "leading-ai-dropped",
        [AIMessage("Hello! How can I help?"), HumanMessage("hi")],
        {},
        None,
        [user("hi")],
    ),
    (
        "trailing-ai-dropped",
        [HumanMessage("hi"), AIMessage("Hel")],
        {},
        None,
        [user("hi")],
    ),
    (
        "leading-ai-kept-after-folded-system",
        [SystemMessage("S"), AIMessage("Hello!"), HumanMessage("hi")],
        {"fold_system": True},
        None,
        [user("S"), assistant("Hello!"), user("hi")],
    ),
    (
        "empty-turns-dropped",
        [HumanMessage("a"), AIMessage(""), HumanMessage("  "), HumanMessage("b")],
        {},
        None,
        [user("a\n\nb")],
    ),
    (
        "list-content-flattened",
        [
            HumanMessage(
                ["x", {"type": "text", "text": "y", "cache_control": {"type": "ephemeral"}}]
            )
        ],
        {},
        None,
        [user("x\ny")],
    ),
    (
        "one-tool-call",
        [
            HumanMessage("1+2?"),
            AIMessage("", tool_calls=[call("add", {"a": 1, "b": 2}, "c1")]),
            ToolMessage("3", tool_call_id="c1", name="add"),
        ],
        {},
        None,
        [user("1+2?"), assistant("", fc("add", {"a": 1, "b": 2})), function("add", "3")],
    ),
    (
        "two-tool-calls-two-pairs",
        [
            HumanMessage("weather in A and B?"),
            AIMessage(
                "Checking.",
                tool_calls=[call("w", {"city": "A"}, "c1"), call("w", {"city": "B"}, "c2")],
            ),
            ToolMessage("rain", tool_call_id="c2", name="w"),  # answers arrive out of order
            ToolMessage("sun", tool_call_id="c1", name="w"),
        ],
        {},
        None,
        [
            user("weather in A and B?"),
            assistant("Checking.", fc("w", {"city": "A"})),
            function("w", "sun"),
            assistant("", fc("w", {"city": "B"})),
            function("w", "rain"),
        ],
    ),
    (
        "tool-message-named-by-its-call",
        [
            HumanMessage("1+2?"),
            AIMessage("", tool_calls=[call("add", {"a": 1, "b": 2}, "c1")]),
            ToolMessage("3", tool_call_id="c1"),
        ],
        {},
        None,
        [user("1+2?"), assistant("", fc("add", {"a": 1, "b": 2})), function("add", "3")],
    ),
    (
        "unanswered-call-not-sent",
        [
            HumanMessage("1+2?"),
            AIMessage("Let me add.", tool_calls=[call("add", {"a": 1, "b": 2}, "c1")]),
            HumanMessage("never mind"),
        ],
        {},
        None,
        [user("1+2?"), assistant("Let me add."), user("never mind")],
    ),
    (
        "function-then-user-merged",
        [
            HumanMessage("1+2?"),
            AIMessage("", tool_calls=[call("add", {"a": 1, "b": 2}, "c1")]),
            ToolMessage("3", tool_call_id="c1", name="add"),
            HumanMessage("and 3+4?"),
        ],
        {},
        None,
        [
            user("1+2?"),
            assistant("", fc("add", {"a": 1, "b": 2})),
            function("add", "3\n\nand 3+4?"),
        ],
    ),
    (
        "orphan-tool-message-merged-into-user",
        [HumanMessage("hi"), ToolMessage("42", tool_call_id="nowhere", name="f")],
        {},
        None,
        [user("hi\n\n42")],
    ),
    (
        "empty-tool-result",
        [
            HumanMessage("go"),
            AIMessage("", tool_calls=[call("run", {}, "c1")]),
            ToolMessage("", tool_call_id="c1"),
        ],
        {},
        None,
        [user("go"), assistant("", fc("run", {})), function("run", '""')],
    ),
    (
        "legacy-function-call",
        [
            HumanMessage("1+2?"),
            AIMessage(
                "", additional_kwargs={"function_call": {"name": "add", "arguments": '{"a":1}'}}
            ),
            FunctionMessage("3", name="add"),
        ],
        {},
        None,
        [
            user("1+2?"),
            assistant("", {"name": "add", "arguments": '{"a":1}'}),
            function("add", "3"),
        ],
    ),
    (
        "chat-message-roles",
        [
            ChatMessage(role="system", content="S"),
            ChatMessage(role="human", content="hi"),
            ChatMessage(role="ai", content="yo"),
            ChatMessage(role="user", content="bye"),
        ],
        {},
        "S",
        [user("hi"), assistant("yo"), user("bye")],
    ),
    (
        "anthropic-blocks",
        [
            HumanMessage([{"type": "text", "text": "pick"}]),
            AIMessage(
                [
                    {"type": "thinking", "thinking": "hmm", "signature": "x"},
                    {"type": "text", "text": "Picking."},
                    {"type": "tool_use", "id": "t1", "name": "pick", "input": {"c": "red"}},
                ],
                tool_calls=[call("pick", {"c": "red"}, "t1")],
            ),
            ToolMessage("nice", tool_call_id="t1"),
        ],
        {},
        None,
        [user("pick"), assistant("Picking.", fc("pick", {"c": "red"})), function("pick", "nice")],
    ),
    (
        "v1-output-blocks",
        [
            HumanMessage("hi"),
            AIMessage(
                [
                    {"type": "text", "text": "Hello"},
                    {"type": "tool_call", "id": "t", "name": "f", "args": {}},
                ]
            ),
            HumanMessage("again"),
        ],
        {},
        None,
        [user("hi"), assistant("Hello"), user("again")],
    ),
    (
        "human-name-dropped",
        [HumanMessage("hello", name="example_user")],
        {},
        None,
        [user("hello")],
    ),
]


@pytest.mark.parametrize(
    ("messages", "kwargs", "system", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in CONVERSATIONS],
)
def test_convert_messages(
    messages: list[BaseMessage], kwargs: dict[str, Any], system: str | None, expected: list[Any]
) -> None:
    got_system, got = convert_messages(messages, **kwargs)
    assert (got_system, got) == (system, expected)
    assert check_messages(got) is None  # v1's own rules (the client's validator) hold


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        pytest.param(
            [HumanMessage([{"type": "image_url", "image_url": {}}])], ValueError, id="image"
        ),
        pytest.param([HumanMessage([{"type": "audio", "base64": "x"}])], ValueError, id="audio"),
        pytest.param([ChatMessage(role="critic", content="x")], ValueError, id="unknown-role"),
        pytest.param([AIMessage("only the model")], ValueError, id="nothing-to-answer"),
        pytest.param([], ValueError, id="empty"),
        pytest.param([RemoveMessage(id="1")], TypeError, id="remove-message"),
    ],
)
def test_convert_messages_rejects(messages: list[BaseMessage], error: type[Exception]) -> None:
    with pytest.raises(error):
        convert_messages(messages)


@pytest.mark.parametrize(
    ("content", "text"),
    [
        pytest.param("plain", "plain", id="string"),
        pytest.param(["a", "b"], "a\nb", id="strings"),
        pytest.param([{"type": "text", "text": "a"}, {"type": "reasoning"}], "a", id="reasoning"),
        pytest.param([{"type": "text-plain", "text": "doc", "mime_type": "text/plain"}], "doc"),
        pytest.param([], "", id="empty"),
    ],
)
def test_content_to_text(content: Any, text: str) -> None:
    assert content_to_text(content) == text


# -- v1 reply -> AIMessage -> v1 again --------------------------------------------------------

USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
REPLIES: list[tuple[str, dict[str, Any]]] = [
    (
        "text",
        {"id": "as-1", "result": "您好！", "finish_reason": "normal", "usage": USAGE},
    ),
    (
        "function-call",
        {
            "id": "as-2",
            "result": "",
            "finish_reason": "function_call",
            "function_call": {
                "name": "get_weather",
                "arguments": '{"city": "北京"}',
                "thoughts": "需要查天气",
            },
            "usage": USAGE,
        },
    ),
    (
        "function-call-empty-arguments",
        {
            "id": "as-3",
            "result": "",
            "function_call": {"name": "now", "arguments": ""},
            "usage": USAGE,
        },
    ),
]


@pytest.mark.parametrize("body", [pytest.param(b, id=i) for i, b in REPLIES])
def test_reply_round_trip(body: dict[str, Any]) -> None:
    """A reply becomes an AIMessage, and that message goes back as the same v1 turn."""
    message = convert_response(body, model_name="ERNIE-3.5-8K", request_id="req-1")
    assert message.content == body["result"]
    assert message.id == body["id"]
    assert message.usage_metadata == {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}
    meta = message.response_metadata
    assert meta["model_name"] == "ERNIE-3.5-8K"
    assert meta["request_id"] == "req-1"
    assert meta["id"] == body["id"]
    follow: list[BaseMessage] = [HumanMessage("q"), message]
    if message.tool_calls:
        (tc,) = message.tool_calls
        assert tc["id"] == f"call_{body['id']}_0"
        follow.append(ToolMessage("result", tool_call_id=tc["id"]))
    else:
        follow.append(HumanMessage("next"))
    _, sent = convert_messages(follow)
    turn = sent[1]
    assert turn["role"] == "assistant"
    assert turn["content"] == body["result"]
    if "function_call" in body:
        sent_call = turn["function_call"]
        assert sent_call["name"] == body["function_call"]["name"]
        original = body["function_call"]["arguments"] or "{}"
        assert json.loads(sent_call["arguments"]) == json.loads(original)
        assert "thoughts" not in sent_call
        assert sent[2] == function(body["function_call"]["name"], "result")


def test_bad_arguments_are_an_invalid_tool_call() -> None:
    body = {"id": "as-9", "result": "", "function_call": {"name": "f", "arguments": "{oops"}}
    message = convert_response(body, model_name="m")
    assert message.tool_calls == []
    (bad,) = message.invalid_tool_calls
    assert (bad["name"], bad["args"], bad["id"]) == ("f", "{oops", "call_as-9_0")


@pytest.mark.parametrize(
    ("reply_id", "expected"),
    [
        pytest.param("as-abc", "call_as-abc_0", id="from-reply-id"),
        pytest.param(None, tool_call_id(None, 0, "f", "{}"), id="hash-stable"),
    ],
)
def test_tool_call_ids_are_stable(reply_id: str | None, expected: str) -> None:
    assert tool_call_id(reply_id, 0, "f", "{}") == expected
    assert tool_call_id(reply_id, 0, "f", "{}") == tool_call_id(reply_id, 0, "f", "{}")
    assert tool_call_id(None, 0, "f", "{}") != tool_call_id(None, 0, "g", "{}")


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(USAGE, {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}, id="all"),
        pytest.param(
            {"prompt_tokens": 2, "completion_tokens": 3},
            {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5},
            id="no-total",
        ),
        pytest.param(None, None, id="none"),
    ],
)
def test_usage_metadata(usage: Any, expected: Any) -> None:
    assert usage_metadata(usage) == expected


# -- v1 stream chunks -> AIMessageChunks --------------------------------------------------------

RUNNING = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
ZERO = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
STREAMS: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    (
        "running-usage-ignored",
        [
            {"id": "as-s", "result": "您好！", "is_end": False, "usage": RUNNING},
            {"id": "as-s", "result": "请讲。", "is_end": True, "usage": USAGE},
        ],
        {"id": "as-s", "result": "您好！请讲。", "usage": USAGE},
    ),
    (
        "empty-final-chunk",
        [
            {"id": "as-e", "result": "A", "is_end": False, "usage": ZERO},
            {"id": "as-e", "result": "B", "is_end": False, "usage": ZERO},
            {
                "id": "as-e",
                "result": "",
                "is_end": True,
                "usage": USAGE,
                "need_clear_history": True,
            },
        ],
        {"id": "as-e", "result": "AB", "usage": USAGE, "need_clear_history": True},
    ),
    (
        "function-call",
        [
            {
                "id": "as-f",
                "result": "",
                "is_end": True,
                "finish_reason": "function_call",
                "function_call": {"name": "f", "arguments": '{"x": 1}'},
                "usage": USAGE,
            }
        ],
        {
            "id": "as-f",
            "result": "",
            "finish_reason": "function_call",
            "function_call": {"name": "f", "arguments": '{"x": 1}'},
            "usage": USAGE,
        },
    ),
]


@pytest.mark.parametrize(("chunks", "whole"), [pytest.param(c, w, id=i) for i, c, w in STREAMS])
def test_stream_adds_up_to_the_reply(chunks: list[dict[str, Any]], whole: dict[str, Any]) -> None:
    """Chunks summed equal the whole reply converted at once; usage and the final metadata come
    exactly once, on the chunk marked ``chunk_position="last"``."""
    converted = [convert_chunk(c, model_name="m", request_id="r") for c in chunks]
    assert [c.chunk_position for c in converted] == [None] * (len(chunks) - 1) + ["last"]
    assert [c.usage_metadata is not None for c in converted] == [is_last_chunk(c) for c in chunks]
    total = converted[0]
    for piece in converted[1:]:
        total = total + piece
    assert isinstance(total, AIMessageChunk)
    expected = convert_response(whole, model_name="m", request_id="r")
    assert total.content == expected.content
    assert total.tool_calls == expected.tool_calls
    assert total.usage_metadata == expected.usage_metadata
    for key in ("model_name", "request_id", "id", "need_clear_history", "finish_reason"):
        assert total.response_metadata.get(key) == expected.response_metadata.get(key)


# -- tools and tool_choice -----------------------------------------------------------------------


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str = Field(description="the city")


class Person(TypedDict):
    """A person."""

    name: str


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


ADD_PARAMS = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}
TOOLS: list[tuple[str, Any, str, str]] = [
    ("pydantic", GetWeather, "GetWeather", "Get the weather in a city."),
    ("typeddict", Person, "Person", "A person."),
    ("base-tool", add, "add", "Add two integers."),
    ("function", multiply, "multiply", "Multiply two integers."),
    (
        "openai-dict",
        {"type": "function", "function": {"name": "f", "description": "F.", "parameters": {}}},
        "f",
        "F.",
    ),
    ("anthropic-dict", {"name": "g", "description": "G.", "input_schema": ADD_PARAMS}, "g", "G."),
    ("json-schema", {"title": "H", "description": "H.", **ADD_PARAMS}, "H", "H."),
]


@pytest.mark.parametrize(
    ("tool_like", "name", "description"), [pytest.param(*t[1:], id=t[0]) for t in TOOLS]
)
def test_convert_to_qianfan_function(tool_like: Any, name: str, description: str) -> None:
    function = convert_to_qianfan_function(tool_like)
    assert function["name"] == name
    assert function["description"] == description
    assert set(function) <= {"name", "description", "parameters"}
    assert convert_to_qianfan_function(function) == function  # a v1 function stays as it is


def test_v1_function_keeps_responses_and_examples() -> None:
    fn = {"name": "f", "description": "F.", "parameters": {}, "responses": {}, "examples": [[]]}
    assert convert_to_qianfan_function(fn) == fn


FORCE_F = {"type": "function", "function": {"name": "f"}}
CHOICES: list[tuple[str, Any, list[str], Any]] = [
    ("none-given", None, ["f", "g"], None),
    ("auto", "auto", ["f", "g"], None),
    ("none", "none", ["f"], "none"),
    ("false", False, ["f"], "none"),
    ("any-one-tool", "any", ["f"], FORCE_F),
    ("required-one-tool", "required", ["f"], FORCE_F),
    ("true-one-tool", True, ["f"], FORCE_F),
    ("any-several-tools", "any", ["f", "g"], None),
    ("name", "f", ["f", "g"], FORCE_F),
    ("openai-dict", {"type": "function", "function": {"name": "f"}}, ["g", "f"], FORCE_F),
    ("anthropic-dict", {"type": "tool", "name": "f"}, ["f", "g"], FORCE_F),
    ("anthropic-any", {"type": "any"}, ["f"], FORCE_F),
]


@pytest.mark.parametrize(
    ("choice", "names", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CHOICES]
)
def test_convert_tool_choice(choice: Any, names: list[str], expected: Any) -> None:
    assert convert_tool_choice(choice, names) == expected


@pytest.mark.parametrize(
    "choice",
    [
        pytest.param("nope", id="unknown-name"),
        pytest.param({"type": "function", "function": {"name": "nope"}}, id="unknown-in-dict"),
        pytest.param({"type": "weird"}, id="bad-dict"),
        pytest.param(3, id="bad-type"),
    ],
)
def test_convert_tool_choice_rejects(choice: Any) -> None:
    with pytest.raises(ValueError, match="tool_choice"):
        convert_tool_choice(choice, ["f", "g"])
