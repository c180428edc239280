"""The v2 (OpenAI-compatible) converters, as tables: LangChain conversations to v2 messages, v2
replies and stream chunks to LangChain messages and back, tools, ``tool_choice``, the
``json_schema`` response format and the API-version choice. No server, no network."""

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
from langchain_core.messages.tool import invalid_tool_call
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from qianfan_chat._protocol.rules_v2 import check_messages
from qianfan_chat.langchain import (
    QianfanChatEndpoint,
    StreamConverterV2,
    convert_messages_v2,
    convert_response_v2,
    convert_to_qianfan_tool,
    convert_tool_choice_v2,
)
from qianfan_chat.langchain._convert import tool_call_id
from qianfan_chat.langchain._convert_v2 import usage_metadata_v2
from qianfan_chat.langchain._structured import json_schema_format


def call(name: str, args: dict[str, Any], id_: str | None) -> dict[str, Any]:
    return {"name": name, "args": args, "id": id_, "type": "tool_call"}


def wire(id_: str, name: str, args: dict[str, Any] | str) -> dict[str, Any]:
    arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def system(text: str, role: str = "system") -> dict[str, str]:
    return {"role": role, "content": text}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str, *calls: dict[str, Any]) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        turn["tool_calls"] = list(calls)
    return turn


def tool_msg(id_: str, text: str, name: str | None = None) -> dict[str, str]:
    turn = {"role": "tool", "tool_call_id": id_, "content": text}
    if name is not None:
        turn["name"] = name
    return turn


# -- LangChain conversation -> v2 messages ----------------------------------------------------

LEGACY_ID = tool_call_id(None, 1, "add", '{"a":1}')
# (id, messages, keyword arguments, expected messages)
CONVERSATIONS: list[tuple[str, list[BaseMessage], dict[str, Any], list[Any]]] = [
    ("one-human", [HumanMessage("hi")], {}, [user("hi")]),
    (
        "system-in-messages",
        [SystemMessage("Be brief."), HumanMessage("hi")],
        {},
        [system("Be brief."), user("hi")],
    ),
    (
        "persona-first-systems-in-place",
        [SystemMessage("A"), HumanMessage("hi"), SystemMessage("B"), HumanMessage("again")],
        {"system": "persona"},
        [system("persona"), system("A"), user("hi"), system("B"), user("again")],
    ),
    (
        "developer-role",
        [
            SystemMessage("Rules.", additional_kwargs={"__openai_role__": "developer"}),
            HumanMessage("hi"),
        ],
        {},
        [system("Rules.", "developer"), user("hi")],
    ),
    ("blank-system-dropped", [SystemMessage(""), HumanMessage("hi")], {}, [user("hi")]),
    (
        "turns-kept-as-given",
        [HumanMessage("a"), HumanMessage("b"), AIMessage("c"), AIMessage("d"), HumanMessage("e")],
        {},
        [user("a"), user("b"), assistant("c"), assistant("d"), user("e")],
    ),
    (
        "leading-and-trailing-ai-kept",
        [AIMessage("Hello! How can I help?"), HumanMessage("hi"), AIMessage("Hel")],
        {},
        [assistant("Hello! How can I help?"), user("hi"), assistant("Hel")],
    ),
    (
        "empty-ai-dropped",
        [HumanMessage("a"), AIMessage(""), HumanMessage("b")],
        {},
        [user("a"), user("b")],
    ),
    (
        "list-content-flattened",
        [
            HumanMessage(
                ["x", {"type": "text", "text": "y", "cache_control": {"type": "ephemeral"}}]
            )
        ],
        {},
        [user("x\ny")],
    ),
    (
        "multi-tool-ai-is-one-assistant-message",
        [
            HumanMessage("weather in A and B?"),
            AIMessage(
                "Checking.",
                tool_calls=[call("w", {"city": "A"}, "c1"), call("w", {"city": "B"}, "c2")],
            ),
            ToolMessage("rain", tool_call_id="c2"),  # answers arrive out of order
            ToolMessage("sun", tool_call_id="c1", name="w"),
            AIMessage("A: sun, B: rain."),
            HumanMessage("thanks"),
        ],
        {},
        [
            user("weather in A and B?"),
            assistant("Checking.", wire("c1", "w", {"city": "A"}), wire("c2", "w", {"city": "B"})),
            tool_msg("c2", "rain", "w"),
            tool_msg("c1", "sun", "w"),
            assistant("A: sun, B: rain."),
            user("thanks"),
        ],
    ),
    (
        "unicode-arguments-unescaped",
        [
            HumanMessage("北京?"),
            AIMessage("", tool_calls=[call("w", {"city": "北京"}, "c1")]),
            ToolMessage("晴", tool_call_id="c1"),
        ],
        {},
        [
            user("北京?"),
            assistant("", wire("c1", "w", {"city": "北京"})),
            tool_msg("c1", "晴", "w"),
        ],
    ),
    (
        "empty-tool-result",
        [
            HumanMessage("go"),
            AIMessage("", tool_calls=[call("run", {}, "c1")]),
            ToolMessage("", tool_call_id="c1"),
        ],
        {},
        [user("go"), assistant("", wire("c1", "run", {})), tool_msg("c1", '""', "run")],
    ),
    (
        "call-without-id-gets-one",
        [HumanMessage("go"), AIMessage("", tool_calls=[call("run", {}, None)]), HumanMessage("?")],
        {},
        [
            user("go"),
            assistant("", wire(tool_call_id(None, 0, "run", "{}"), "run", {})),
            user("?"),
        ],
    ),
    (
        "invalid-call-sent-back-raw",
        [
            HumanMessage("go"),
            AIMessage(
                "",
                invalid_tool_calls=[invalid_tool_call(name="f", args="{oops", id="c9", error="x")],
            ),
            ToolMessage("bad arguments", tool_call_id="c9"),
        ],
        {},
        [user("go"), assistant("", wire("c9", "f", "{oops")), tool_msg("c9", "bad arguments", "f")],
    ),
    (
        "orphan-tool-message",
        [HumanMessage("hi"), ToolMessage("42", tool_call_id="nowhere")],
        {},
        [user("hi"), tool_msg("nowhere", "42")],
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
        [
            user("1+2?"),
            assistant("", wire(LEGACY_ID, "add", '{"a":1}')),
            tool_msg(LEGACY_ID, "3", "add"),
        ],
    ),
    (
        "chat-message-roles",
        [
            ChatMessage(role="system", content="S"),
            ChatMessage(role="developer", content="D"),
            ChatMessage(role="human", content="hi"),
            ChatMessage(role="ai", content="yo"),
            ChatMessage(role="tool", content="r", additional_kwargs={"tool_call_id": "t1"}),
            ChatMessage(role="user", content="bye"),
        ],
        {},
        [
            system("S"),
            system("D", "developer"),
            user("hi"),
            assistant("yo"),
            tool_msg("t1", "r"),
            user("bye"),
        ],
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
        [
            user("pick"),
            assistant("Picking.", wire("t1", "pick", {"c": "red"})),
            tool_msg("t1", "nice", "pick"),
        ],
    ),
    (
        "reasoning-and-name-not-sent",
        [
            HumanMessage("hello", name="example_user"),
            AIMessage("Hi.", additional_kwargs={"reasoning_content": "greet back"}, name="bot"),
            HumanMessage("bye"),
        ],
        {},
        [user("hello"), assistant("Hi."), user("bye")],
    ),
]


@pytest.mark.parametrize(
    ("messages", "kwargs", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in CONVERSATIONS],
)
def test_convert_messages_v2(
    messages: list[BaseMessage], kwargs: dict[str, Any], expected: list[Any]
) -> None:
    got = convert_messages_v2(messages, **kwargs)
    assert got == expected
    if got[-1]["role"] != "assistant" or got[-1]["content"]:
        assert check_messages(got) is None  # v2's own rules (the client's validator) hold


@pytest.mark.parametrize(
    ("messages", "error", "match"),
    [
        pytest.param(
            [HumanMessage([{"type": "image", "file_id": "f-1"}])],
            ValueError,
            "an image block needs",
            id="image-file-id",
        ),
        pytest.param(
            [HumanMessage([{"type": "audio", "base64": "x"}])], ValueError, "text only", id="audio"
        ),
        pytest.param([ChatMessage(role="critic", content="x")], ValueError, "role", id="role"),
        pytest.param(
            [ChatMessage(role="tool", content="x")], ValueError, "tool_call_id", id="tool-no-id"
        ),
        pytest.param(
            [HumanMessage("q"), FunctionMessage("3", name="add")],
            ValueError,
            "no function_call",
            id="function-without-call",
        ),
        pytest.param([], ValueError, "empty", id="empty"),
        pytest.param([RemoveMessage(id="1")], TypeError, "RemoveMessage", id="remove-message"),
    ],
)
def test_convert_messages_v2_rejects(
    messages: list[BaseMessage], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        convert_messages_v2(messages)


# -- v2 reply -> AIMessage -> v2 again --------------------------------------------------------

USAGE = {
    "prompt_tokens": 5,
    "completion_tokens": 7,
    "total_tokens": 12,
    "prompt_tokens_details": {"search_tokens": 0, "cached_tokens": 2},
}
LC_USAGE = {
    "input_tokens": 5,
    "output_tokens": 7,
    "total_tokens": 12,
    "input_token_details": {"cache_read": 2},
}


def reply(message: dict[str, Any], finish: str = "stop", **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "message": message, "finish_reason": finish, "flag": 0, "ban_round": -1}
    return {
        "id": "as-1",
        "object": "chat.completion",
        "created": 1755938117,
        "model": "ernie-3.5-8k",
        "choices": [choice],
        "usage": USAGE,
        **extra,
    }


REPLIES: list[tuple[str, dict[str, Any]]] = [
    ("text", reply({"role": "assistant", "content": "您好！"})),
    (
        "two-tool-calls",
        reply(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    wire("call_a", "get_weather", {"city": "北京"}),
                    wire("call_b", "get_time", {}),
                ],
            },
            "tool_calls",
        ),
    ),
    (
        "tool-call-empty-arguments-no-id",
        reply(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"type": "function", "function": {"name": "now", "arguments": ""}},
                ],
            },
            "tool_calls",
        ),
    ),
    (
        "reasoning",
        reply({"role": "assistant", "content": "42", "reasoning_content": "6 x 7"}),
    ),
]


@pytest.mark.parametrize("body", [pytest.param(b, id=i) for i, b in REPLIES])
def test_reply_round_trip(body: dict[str, Any]) -> None:
    """A reply becomes an AIMessage, and that message goes back as the same v2 message (its
    tool calls, ids included, as ONE assistant message; reasoning not sent back)."""
    message = convert_response_v2(body, model_name="asked-model", request_id="req-1")
    sent_message = body["choices"][0]["message"]
    assert message.content == sent_message["content"]
    assert message.id == "as-1"
    assert message.usage_metadata == LC_USAGE
    assert message.response_metadata == {
        "model_name": "ernie-3.5-8k",  # the model that answered
        "model_provider": "qianfan",
        "id": "as-1",
        "created": 1755938117,
        "finish_reason": body["choices"][0]["finish_reason"],
        "flag": 0,
        "ban_round": -1,
        "request_id": "req-1",
    }
    if "reasoning_content" in sent_message:
        assert message.additional_kwargs == {"reasoning_content": "6 x 7"}
    follow: list[BaseMessage] = [HumanMessage("q"), message]
    follow += [ToolMessage("result", tool_call_id=str(tc["id"])) for tc in message.tool_calls]
    sent = convert_messages_v2(follow)
    turn = sent[1]
    assert turn["role"] == "assistant"
    assert turn["content"] == sent_message["content"]
    assert "reasoning_content" not in turn
    raw_calls = sent_message.get("tool_calls", [])
    assert len(turn.get("tool_calls", [])) == len(raw_calls) == len(message.tool_calls)
    for index, (out, raw) in enumerate(zip(turn.get("tool_calls", []), raw_calls, strict=True)):
        assert out["id"] == (raw.get("id") or f"call_as-1_{index}")
        assert out["function"]["name"] == raw["function"]["name"]
        original = raw["function"]["arguments"] or "{}"
        assert json.loads(out["function"]["arguments"]) == json.loads(original)
    assert [m["tool_call_id"] for m in sent[2:]] == [c["id"] for c in turn.get("tool_calls", [])]
    assert check_messages(sent) is None


def test_bad_arguments_are_an_invalid_tool_call() -> None:
    body = reply(
        {"role": "assistant", "content": "", "tool_calls": [wire("c", "f", "{oops")]},
        "tool_calls",
    )
    message = convert_response_v2(body, model_name="m")
    assert message.tool_calls == []
    (bad,) = message.invalid_tool_calls
    assert (bad["name"], bad["args"], bad["id"]) == ("f", "{oops", "c")


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(USAGE, LC_USAGE, id="cached"),
        pytest.param(
            {"prompt_tokens": 2, "completion_tokens": 3},
            {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5},
            id="no-total-no-details",
        ),
        pytest.param(
            {
                "prompt_tokens": 2,
                "completion_tokens": 9,
                "total_tokens": 11,
                "completion_tokens_details": {"reasoning_tokens": 6},
            },
            {
                "input_tokens": 2,
                "output_tokens": 9,
                "total_tokens": 11,
                "output_token_details": {"reasoning": 6},
            },
            id="reasoning",
        ),
        pytest.param(None, None, id="none"),
    ],
)
def test_usage_metadata_v2(usage: Any, expected: Any) -> None:
    assert usage_metadata_v2(usage) == expected


# -- v2 stream chunks -> AIMessageChunks --------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> Any:
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    body = {
        "id": "as-1",
        "object": "chat.completion.chunk",
        "created": 1755938117,
        "model": "ernie-3.5-8k",
        "choices": [choice],
        **extra,
    }
    for key in ("flag", "ban_round"):
        if key in body:
            choice[key] = body.pop(key)
    return body


def usage_chunk(usage: dict[str, Any] = USAGE) -> dict[str, Any]:
    return {"id": "as-1", "object": "chat.completion.chunk", "created": 1755938117,
            "model": "ernie-3.5-8k", "choices": [], "usage": usage}  # fmt: skip


def tc_delta(index: int, args: str, id_: str | None = None, name: str | None = None) -> Any:
    piece: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id_ is not None:
        piece.update(id=id_, type="function")
        piece["function"]["name"] = name
    return {"tool_calls": [piece]}


RUNNING = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
STREAMS: list[tuple[str, list[dict[str, Any]], dict[str, Any], bool]] = [
    # (id, chunks, the whole reply they add up to, whether the stream sent its own last chunk)
    (
        "text-then-usage-chunk",
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "您好！"}),
            chunk({"content": "请讲。"}),
            chunk({}, "stop", flag=0, ban_round=-1),
            usage_chunk(),
        ],
        reply({"role": "assistant", "content": "您好！请讲。"}),
        True,
    ),
    (
        "two-tool-calls-in-pieces",
        [
            chunk({"role": "assistant", "content": ""}),
            chunk(tc_delta(0, "", "call_a", "get_weather")),
            chunk(tc_delta(0, '{"city": ')),
            chunk(tc_delta(0, '"北京"}')),
            chunk(tc_delta(1, "{}", "call_b", "get_time")),
            chunk({}, "tool_calls", flag=0, ban_round=-1),
            usage_chunk(),
        ],
        REPLIES[1][1],
        True,
    ),
    (
        "tool-call-without-id",
        [
            chunk({"tool_calls": [{"index": 0, "function": {"name": "now", "arguments": ""}}]}),
            chunk({}, "tool_calls", flag=0, ban_round=-1),
            usage_chunk(),
        ],
        REPLIES[2][1],
        True,
    ),
    (
        "reasoning-pieces",
        [
            chunk({"role": "assistant", "reasoning_content": "6 x "}),
            chunk({"reasoning_content": "7"}),
            chunk({"content": "42"}, "stop", flag=0, ban_round=-1),
            usage_chunk(),
        ],
        REPLIES[3][1],
        True,
    ),
    (
        "usage-on-finish-chunk-no-usage-chunk",
        [
            chunk({"content": "您好！"}),
            chunk({"content": "请讲。"}, "stop", flag=0, ban_round=-1, usage=USAGE),
        ],
        reply({"role": "assistant", "content": "您好！请讲。"}),
        False,
    ),
    (
        "usage-chunk-with-choices",
        [
            chunk({"content": "您好！请讲。"}),
            chunk({}, "stop", flag=0, ban_round=-1),
            chunk({}, usage=USAGE),
        ],
        reply({"role": "assistant", "content": "您好！请讲。"}),
        False,
    ),
    (
        "running-usage-only-the-latest-counts",
        [
            chunk({"content": "您好！"}, usage=RUNNING),
            chunk({"content": "请讲。"}, "stop", flag=0, ban_round=-1, usage=USAGE),
        ],
        reply({"role": "assistant", "content": "您好！请讲。"}),
        False,
    ),
    (
        "running-usage-ignored",
        [
            chunk({"content": "您好！"}, usage=RUNNING),
            chunk({"content": "请讲。"}, usage=RUNNING),
            chunk({}, "stop", flag=0, ban_round=-1, usage=USAGE),
            usage_chunk(),
        ],
        reply({"role": "assistant", "content": "您好！请讲。"}),
        True,
    ),
    (
        "cut-after-finish-no-usage",
        [chunk({"content": "您好！"}), chunk({}, "stop", flag=0, ban_round=-1)],
        {**reply({"role": "assistant", "content": "您好！"}), "usage": None},
        False,
    ),
    (
        "highest-flag-wins",
        [
            chunk({"content": "先说"}, flag=1),
            chunk({"content": "后说"}, flag=0),
            chunk({}, "content_filter", flag=0, ban_round=-1),
            usage_chunk(),
        ],
        {
            **reply({"role": "assistant", "content": "先说后说"}, "content_filter"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "先说后说"},
                    "finish_reason": "content_filter",
                    "flag": 1,
                    "ban_round": -1,
                }
            ],
        },
        True,
    ),
]


@pytest.mark.parametrize(
    ("chunks", "whole", "sent_last"), [pytest.param(*s[1:], id=s[0]) for s in STREAMS]
)
def test_stream_adds_up_to_the_reply(
    chunks: list[dict[str, Any]], whole: dict[str, Any], sent_last: bool
) -> None:
    """Chunks summed equal the whole reply converted at once; usage and the final metadata come
    exactly once, on the one chunk marked ``chunk_position="last"``."""
    converter = StreamConverterV2(model_name="asked")
    converted = [converter.convert(c, request_id="req-1") for c in chunks]
    last = converter.finish()
    assert (last is None) == sent_last
    out = [c for c in [*converted, last] if c is not None]
    assert len(out) == len(chunks) + (0 if sent_last else 1)
    assert [c.chunk_position for c in out] == [None] * (len(out) - 1) + ["last"]
    assert all(c.usage_metadata is None for c in out[:-1])
    assert all(set(c.response_metadata) == {"model_provider"} for c in out[:-1])
    total = out[0]
    for piece in out[1:]:
        total = total + piece
    assert isinstance(total, AIMessageChunk)
    expected = convert_response_v2(whole, model_name="asked", request_id="req-1")
    assert total.content == expected.content
    assert total.tool_calls == expected.tool_calls
    assert total.invalid_tool_calls == expected.invalid_tool_calls
    assert total.additional_kwargs == expected.additional_kwargs
    assert total.usage_metadata == expected.usage_metadata
    assert total.response_metadata == expected.response_metadata
    assert total.id == expected.id
    assert converter.convert(usage_chunk()) is None  # nothing after the last chunk


# -- tools, tool_choice, json_schema --------------------------------------------------------------


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str = Field(description="the city")


class Person(TypedDict):
    """A person."""

    name: str


WEATHER_PARAMS = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "the city"}},
    "required": ["city"],
}
TOOLS: list[tuple[str, Any, dict[str, Any]]] = [
    (
        "pydantic",
        GetWeather,
        {
            "name": "GetWeather",
            "description": "Get the weather in a city.",
            "parameters": WEATHER_PARAMS,
        },
    ),
    (
        "v1-function",
        {"name": "f", "description": "F.", "parameters": {}, "responses": {}, "examples": [[]]},
        {"name": "f", "description": "F.", "parameters": {}},
    ),
    (
        "openai-tool-strict-dropped",
        {
            "type": "function",
            "function": {"name": "g", "description": "G.", "parameters": {}, "strict": True},
        },
        {"name": "g", "description": "G.", "parameters": {}},
    ),
]


@pytest.mark.parametrize(("tool_like", "function"), [pytest.param(*t[1:], id=t[0]) for t in TOOLS])
def test_convert_to_qianfan_tool(tool_like: Any, function: dict[str, Any]) -> None:
    tool = convert_to_qianfan_tool(tool_like)
    assert tool == {"type": "function", "function": function}
    assert convert_to_qianfan_tool(tool) == tool  # a v2 tool stays as it is


FORCE_F = {"type": "function", "function": {"name": "f"}}
CHOICES: list[tuple[str, Any, Any]] = [
    ("not-given", None, None),
    ("auto", "auto", "auto"),
    ("none", "none", "none"),
    ("false", False, "none"),
    ("any", "any", "required"),
    ("required", "required", "required"),
    ("true", True, "required"),
    ("anthropic-any", {"type": "any"}, "required"),
    ("name", "f", FORCE_F),
    ("openai-dict", {"type": "function", "function": {"name": "f"}}, FORCE_F),
    ("anthropic-dict", {"type": "tool", "name": "f"}, FORCE_F),
]


@pytest.mark.parametrize(("choice", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CHOICES])
def test_convert_tool_choice_v2(choice: Any, expected: Any) -> None:
    assert convert_tool_choice_v2(choice, ["f", "g"]) == expected


@pytest.mark.parametrize(
    "choice",
    [
        pytest.param("nope", id="unknown-name"),
        pytest.param({"type": "function", "function": {"name": "nope"}}, id="unknown-in-dict"),
        pytest.param({"type": "weird"}, id="bad-dict"),
        pytest.param(3, id="bad-type"),
    ],
)
def test_convert_tool_choice_v2_rejects(choice: Any) -> None:
    with pytest.raises(ValueError, match="tool_choice"):
        convert_tool_choice_v2(choice, ["f", "g"])


class Joke(BaseModel):
    """A joke."""

    setup: str
    punchline: str | None = None


JOKE_PARAMS = {
    "type": "object",
    "properties": {
        "setup": {"type": "string"},
        "punchline": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    },
    "required": ["setup"],
}
FORMATS: list[tuple[str, Any, bool | None, dict[str, Any]]] = [
    ("pydantic", Joke, None, {"name": "Joke", "schema": JOKE_PARAMS}),
    ("strict-false", Joke, False, {"name": "Joke", "schema": JOKE_PARAMS, "strict": False}),
    (
        "typeddict",
        Person,
        None,
        {
            "name": "Person",
            "schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            },
        },
    ),
    (
        "json-schema",
        {"title": "W", "description": "W.", **WEATHER_PARAMS},
        None,
        {"name": "W", "schema": WEATHER_PARAMS},
    ),
]


@pytest.mark.parametrize(
    ("schema", "strict", "expected"), [pytest.param(*f[1:], id=f[0]) for f in FORMATS]
)
def test_json_schema_format(schema: Any, strict: bool | None, expected: dict[str, Any]) -> None:
    assert json_schema_format(schema, strict) == {"type": "json_schema", "json_schema": expected}


def test_json_schema_format_strict_is_openai_strict() -> None:
    fmt = json_schema_format(Joke, True)["json_schema"]
    assert fmt["strict"] is True
    assert fmt["schema"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("key", "others", "env_key", "expected"),
    [
        pytest.param("bce-v3/ALTAK-a/b", False, False, "v2", id="v2-key"),
        pytest.param("bce-v3/ALTAK-a/b", True, False, "v2", id="v2-key-beats-v1-env"),
        pytest.param(None, False, True, "v2", id="env-key-alone"),
        pytest.param(None, True, True, "v1", id="env-key-with-other-credentials"),
        pytest.param("app-ak", False, False, "v1", id="app-key"),
        pytest.param(None, False, False, "v1", id="nothing"),
    ],
)
def test_auto_api_version(
    monkeypatch: pytest.MonkeyPatch, key: str | None, others: bool, env_key: bool, expected: str
) -> None:
    """The version chosen (through ``qianfan_chat.Settings``) from the key and the environment
    at construction: ``others``, v1 credentials there (an App AK/SK pair); ``env_key``,
    ``QIANFAN_API_KEY``."""
    for name in ("AK", "SK", "ACCESS_TOKEN", "ACCESS_KEY", "SECRET_KEY", "API_KEY", "BEARER_TOKEN"):
        monkeypatch.delenv(f"QIANFAN_{name}", raising=False)
    if others:
        monkeypatch.setenv("QIANFAN_AK", "app-ak")
        monkeypatch.setenv("QIANFAN_SK", "app-sk")
    if env_key:
        monkeypatch.setenv("QIANFAN_API_KEY", "env-key")
    chat = QianfanChatEndpoint(**({"api_key": key} if key else {}))
    assert chat.resolved_api_version == expected
