"""What langchain-community's ``QianfanChatEndpoint`` put on its messages, on ours too: its
``additional_kwargs`` (``request_id``, ``finish_reason``, ``object``, ``search_info``, and
``function_call`` / ``tool_calls`` for a call) and ``token_usage`` / ``model_name`` /
``finish_reason`` in ``response_metadata``, on v1 and v2, ``invoke``, ``stream`` (the chunks
added up), and ``invoke`` with ``streaming=True``, sync and async, against the local server
over loopback. Scripted replies are TEST DATA."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers.openai_tools import parse_tool_call
from langchain_core.tools import tool

from qianfan_chat.langchain import QianfanChatEndpoint
from qianfan_chat.langchain._convert import community_kwargs
from qianfan_chat.langchain._convert_v2 import community_kwargs_v2
from qianfan_chat.server import LocalServer, ServerConfig

from .conftest import Runner

AK, SK = "lc-community-ak", "lc-community-sk"
API_KEY = "bce-v3/ALTAK-lccommunity000000000/0123456789abcdef0123456789abcdef01234567"
ENV = ("AK", "SK", "ACCESS_TOKEN", "ACCESS_KEY", "SECRET_KEY", "API_KEY", "BEARER_TOKEN")
MODELS = {"v1": "ERNIE-3.5-8K", "v2": "ernie-3.5-8k"}
COMMUNITY_KEYS = {"finish_reason", "request_id", "object", "search_info"}
CALL_KEYS = {"function_call", "tool_calls"}
QUESTION = "What's the weather in Beijing today?"


@tool
def get_current_weather(location: str) -> str:
    """Get the current weather in a given location"""
    return f"sunny in {location}"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    config = ServerConfig(stream_end_empty=True, stream_chunk_chars=4)
    with LocalServer(config) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.reset()
    for name in (*ENV, "BASE_URL", "CONSOLE_API_BASE_URL", "IAM_BASE_URL", "APP_ID"):
        monkeypatch.delenv(f"QIANFAN_{name}", raising=False)


def model(server: LocalServer, version: str) -> QianfanChatEndpoint:
    if version == "v1":
        return QianfanChatEndpoint(
            model=MODELS["v1"], base_url=server.base_url, api_key=AK, secret_key=SK
        )
    return QianfanChatEndpoint(model=MODELS["v2"], base_url=server.base_url, api_key=API_KEY)


async def answer(run: Runner, chat: Any, mode: str, text: str) -> tuple[BaseMessage, list[Any]]:
    """The message a caller ends up with in ``mode``, and the stream's chunks (if any)."""
    if mode == "invoke":
        return await run.invoke(chat, text), []
    if mode == "streaming-invoke":
        return await run.invoke(chat, text, streaming=True), []
    chunks = await run.stream(chat, text)
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total, chunks


# (version, mode, scenario, finish_reason, object)
CASES: list[tuple[str, str, str, str, str]] = [
    ("v1", "invoke", "text", "normal", "chat.completion"),
    ("v1", "stream", "text", "normal", "chat.completion"),
    ("v1", "streaming-invoke", "text", "normal", "chat.completion"),
    ("v1", "invoke", "call", "function_call", "chat.completion"),
    ("v1", "stream", "call", "function_call", "chat.completion"),
    ("v1", "streaming-invoke", "call", "function_call", "chat.completion"),
    ("v2", "invoke", "text", "stop", "chat.completion"),
    ("v2", "stream", "text", "stop", "chat.completion.chunk"),
    ("v2", "streaming-invoke", "text", "stop", "chat.completion.chunk"),
    ("v2", "invoke", "call", "tool_calls", "chat.completion"),
    ("v2", "stream", "call", "tool_calls", "chat.completion.chunk"),
    ("v2", "streaming-invoke", "call", "tool_calls", "chat.completion.chunk"),
]


@pytest.mark.parametrize(
    ("version", "mode", "scenario", "finish", "kind"),
    CASES,
    ids=["-".join(c[:3]) for c in CASES],
)
async def test_community_fields(
    server: LocalServer,
    run: Runner,
    version: str,
    mode: str,
    scenario: str,
    finish: str,
    kind: str,
) -> None:
    chat: Any = model(server, version)
    if scenario == "call":
        chat = chat.bind_tools([get_current_weather])
    message, chunks = await answer(run, chat, mode, QUESTION if scenario == "call" else "Hello")
    assert isinstance(message, AIMessage)
    extra = message.additional_kwargs
    meta = message.response_metadata

    # additional_kwargs: the community class's keys, its values (strings, never summed twice).
    assert set(extra) == COMMUNITY_KEYS | (CALL_KEYS if scenario == "call" else set())
    assert extra["finish_reason"] == finish
    assert extra["object"] == kind
    assert extra["request_id"] == meta["id"] == message.id  # the reply's id, as it put there
    assert extra["search_info"] == []
    # response_metadata: token_usage (the wire's counts), model_name, finish_reason.
    usage = message.usage_metadata
    assert usage is not None
    token_usage = meta["token_usage"]
    assert (
        token_usage["prompt_tokens"],
        token_usage["completion_tokens"],
        token_usage["total_tokens"],
    ) == (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"])
    assert meta["model_name"] == MODELS[version]
    assert meta["finish_reason"] == finish
    assert meta["request_id"]  # the HTTP request id, as before

    if scenario == "call":
        (call,) = message.tool_calls  # once, however the stream split it
        assert call["name"] == "get_current_weather"
        assert extra["function_call"]["name"] == "get_current_weather"
        assert (
            extra["function_call"]["arguments"] == extra["tool_calls"][0]["function"]["arguments"]
        )
        (raw,) = extra["tool_calls"]
        assert raw["type"] == "function"
        assert set(raw["function"]) == {"name", "arguments"}
        # The OpenAI-shaped call reads back as the message's own tool call, id included.
        assert parse_tool_call(raw, return_id=True) == {**call, "type": "tool_call"}
    if chunks:  # a stream: the fields come once, on the last chunk
        assert all(isinstance(c, AIMessageChunk) for c in chunks)
        assert [bool(c.additional_kwargs) for c in chunks] == [False] * (len(chunks) - 1) + [True]
        assert ["token_usage" in c.response_metadata for c in chunks][-1]
        assert not any("token_usage" in c.response_metadata for c in chunks[:-1])


@pytest.fixture
def scripted_call(server: LocalServer) -> None:
    server.add_rule(
        contains="weather",
        function_call={"name": "get_current_weather", "arguments": {"location": "上海"}},
    )


@pytest.mark.usefixtures("scripted_call")
@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_invoke_and_stream_agree(server: LocalServer, run: Runner, version: str) -> None:
    """A stream's chunks add up to the ``additional_kwargs`` and ``response_metadata`` keys and
    values ``invoke`` gives (but for the ids, which are each reply's own, and ``object``)."""
    chat = model(server, version).bind_tools([get_current_weather])
    whole, _ = await answer(run, chat, "invoke", QUESTION)
    total, _ = await answer(run, chat, "stream", QUESTION)
    own = {"request_id", "object", "tool_calls"}
    assert {k: v for k, v in total.additional_kwargs.items() if k not in own} == {
        k: v for k, v in whole.additional_kwargs.items() if k not in own
    }
    assert set(total.response_metadata) == set(whole.response_metadata)
    for key in ("token_usage", "model_name", "finish_reason"):
        assert total.response_metadata[key] == whole.response_metadata[key]
    assert total.additional_kwargs["function_call"]["arguments"] == '{"location": "上海"}'


# -- the pure readers, on fields the local server does not send ---------------------------------

SEARCH = [{"index": 1, "url": "https://example.com", "title": "示例"}]
V1_BODIES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "search-info",
        {"id": "as-1", "object": "chat.completion", "search_info": {"search_results": SEARCH}},
        {
            "finish_reason": "",
            "request_id": "as-1",
            "object": "chat.completion",
            "search_info": {"search_results": SEARCH},
        },
    ),
    (
        "no-id",
        {"result": "hi"},
        {"finish_reason": "", "request_id": "req-9", "object": "", "search_info": []},
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [r[1:] for r in V1_BODIES], ids=[r[0] for r in V1_BODIES]
)
def test_v1_community_kwargs(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert community_kwargs(body, "req-9") == expected


V2_BODIES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "search-results",
        {
            "id": "as-2",
            "object": "chat.completion",
            "search_results": SEARCH,
            "choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "stop"}],
        },
        {
            "finish_reason": "stop",
            "request_id": "as-2",
            "object": "chat.completion",
            "search_info": {"search_results": SEARCH},
        },
    ),
    (
        "call-without-id",
        {
            "id": "as-3",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "content": "",
                        "tool_calls": [{"function": {"name": "now", "arguments": ""}}],
                    },
                }
            ],
        },
        {
            "finish_reason": "tool_calls",
            "request_id": "as-3",
            "object": "chat.completion",
            "search_info": [],
            "function_call": {"name": "now", "arguments": ""},
            "tool_calls": [
                {
                    "id": "call_as-3_0",
                    "type": "function",
                    "function": {"name": "now", "arguments": ""},
                }
            ],
        },
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [r[1:] for r in V2_BODIES], ids=[r[0] for r in V2_BODIES]
)
def test_v2_community_kwargs(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert community_kwargs_v2(body, "req-9") == expected
