"""Interoperability with a client nobody here wrote: the real ``openai`` package against the
local server's v2 route, sync (``OpenAI``) and async (``AsyncOpenAI``). Chat, streams with
``include_usage``, the stream helper that accumulates tool calls, a tool-call round trip,
typed errors with the server's code and request id, and a retried 503."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from qianfan_chat.server import LocalServer

from .conftest import IAM_AK, IAM_SK, V2_KEY, V2_MODEL

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
LONG = "请用几句话介绍一下千帆大模型平台。它有哪些模型？怎么调用？"


@pytest.fixture(scope="module")
def v2_server() -> Iterator[LocalServer]:
    with LocalServer(iam_keys={IAM_AK: IAM_SK}, api_keys=[V2_KEY]) as server:
        yield server


@pytest.fixture
def server(v2_server: LocalServer) -> LocalServer:
    v2_server.reset()
    return v2_server


@pytest.fixture
def sync_client(server: LocalServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.v2_base_url, api_key=V2_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
async def async_client(server: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=server.v2_base_url, api_key=V2_KEY, max_retries=0
    ) as client:
        yield client


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_chat(server: LocalServer, sync_client: openai.OpenAI) -> None:
    server.add_rule(contains="千帆", text="千帆是百度智能云的大模型平台。")
    completion = sync_client.chat.completions.create(model=V2_MODEL, messages=user(LONG))
    assert completion.choices[0].message.content == "千帆是百度智能云的大模型平台。"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id.startswith("as-")
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    assert completion.model_extra == {}  # Nothing at the top level it does not know ...
    assert completion.choices[0].model_extra == {"flag": 0, "ban_round": -1}  # ... but these.
    entry = server.requests()[-1]
    assert completion._request_id == entry["request_id"]
    assert entry["headers"]["authorization"] == f"Bearer {V2_KEY}"


async def test_chat_async(server: LocalServer, async_client: openai.AsyncOpenAI) -> None:
    completion = await async_client.chat.completions.create(
        model="deepseek-r1", messages=user("你好")
    )
    message = completion.choices[0].message
    assert message.content
    assert (message.model_extra or {}).get("reasoning_content")


def test_stream_with_usage(server: LocalServer, sync_client: openai.OpenAI) -> None:
    whole = sync_client.chat.completions.create(model=V2_MODEL, messages=user(LONG))
    stream = sync_client.chat.completions.create(
        model=V2_MODEL,
        messages=user(LONG),
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, roles, usage = [], [], None
    with stream:
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                roles.append(choice.delta.role)
                pieces.append(choice.delta.content or "")
    assert "".join(pieces) == whole.choices[0].message.content
    assert roles[0] == "assistant"
    assert set(roles[1:]) == {None}
    assert usage == whole.usage
    assert len([p for p in pieces if p]) >= 2


async def test_stream_with_usage_async(
    server: LocalServer, async_client: openai.AsyncOpenAI
) -> None:
    stream = await async_client.chat.completions.create(
        model=V2_MODEL,
        messages=user(LONG),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("您说的是")


def test_stream_helper_accumulates_tool_calls(
    server: LocalServer, sync_client: openai.OpenAI
) -> None:
    server.add_rule(
        contains="天气",
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "北京"}},
            {"name": "get_weather", "arguments": {"city": "上海"}},
        ],
    )
    with sync_client.chat.completions.stream(
        model=V2_MODEL, messages=user("北京和上海的天气"), tools=[WEATHER_TOOL]
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "北京"}, {"city": "上海"}]
    assert final.choices[0].finish_reason == "tool_calls"


def _round_trip_messages(first: Any, results: list[str]) -> list[Any]:
    message = first.choices[0].message
    return [
        *user("北京天气怎么样？用 get_weather"),
        message.model_dump(exclude_none=True, exclude={"model_extra"}),
        *(
            {"role": "tool", "tool_call_id": call.id, "content": result}
            for call, result in zip(message.tool_calls, results, strict=True)
        ),
    ]


def test_tool_call_round_trip(server: LocalServer, sync_client: openai.OpenAI) -> None:
    first = sync_client.chat.completions.create(
        model=V2_MODEL, messages=user("北京天气怎么样？用 get_weather"), tools=[WEATHER_TOOL]
    )
    assert first.choices[0].finish_reason == "tool_calls"
    (call,) = first.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    second = sync_client.chat.completions.create(
        model=V2_MODEL, messages=_round_trip_messages(first, ["晴，25度"]), tools=[WEATHER_TOOL]
    )
    assert second.choices[0].message.content == "根据 get_weather 的结果：晴，25度。"
    assert second.choices[0].finish_reason == "stop"


async def test_tool_call_round_trip_async(
    server: LocalServer, async_client: openai.AsyncOpenAI
) -> None:
    first = await async_client.chat.completions.create(
        model=V2_MODEL,
        messages=user("北京天气怎么样？用 get_weather"),
        tools=[WEATHER_TOOL],
        tool_choice="required",
    )
    second = await async_client.chat.completions.create(
        model=V2_MODEL, messages=_round_trip_messages(first, ["小雨"]), tools=[WEATHER_TOOL]
    )
    assert second.choices[0].message.content == "根据 get_weather 的结果：小雨。"


# (id, request changes, fault, exception class, status, code)
ERRORS: list[tuple[str, dict[str, Any], dict[str, Any] | None, type[Exception], int, str]] = [
    (
        "wrong-key",
        {"api_key": "not-a-key"},
        None,
        openai.AuthenticationError,
        401,
        "invalid_iam_token",
    ),
    ("unknown-model", {"model": "gpt-4o"}, None, openai.AuthenticationError, 401, "invalid_model"),
    ("bad-argument", {"temperature": 0}, None, openai.BadRequestError, 400, "invalid_argument"),
    (
        "rate-limit",
        {},
        {"error_code": "rpm_rate_limit_exceeded"},
        openai.RateLimitError,
        429,
        "rpm_rate_limit_exceeded",
    ),
    ("overload", {}, {"http_status": 503}, openai.InternalServerError, 503, "internal_error"),
    (
        "offline",
        {},
        {"error_code": "model_offline"},
        openai.PermissionDeniedError,
        403,
        "model_offline",
    ),
]


@pytest.mark.parametrize(
    ("changes", "fault", "error", "status", "code"),
    [r[1:] for r in ERRORS],
    ids=[r[0] for r in ERRORS],
)
def test_typed_errors(
    server: LocalServer,
    changes: dict[str, Any],
    fault: dict[str, Any] | None,
    error: type[openai.APIStatusError],
    status: int,
    code: str,
) -> None:
    if fault is not None:
        server.set_faults(fault)
    params = {"model": V2_MODEL, "messages": user("hi"), **changes}
    api_key = params.pop("api_key", V2_KEY)
    with openai.OpenAI(base_url=server.v2_base_url, api_key=api_key, max_retries=0) as client:
        with pytest.raises(error) as caught:
            client.chat.completions.create(**params)
    assert (caught.value.status_code, caught.value.code) == (status, code)
    assert caught.value.request_id == server.requests()[-1]["request_id"]
    assert len(server.requests()) == 1  # max_retries=0: one attempt.


async def test_retried_503_then_success(server: LocalServer) -> None:
    server.set_faults({"http_status": 503, "retry_after": 0.01, "times": 1})
    async with openai.AsyncOpenAI(
        base_url=server.v2_base_url, api_key=V2_KEY, max_retries=2
    ) as client:
        completion = await client.chat.completions.create(model=V2_MODEL, messages=user("hi"))
    assert completion.choices[0].message.content
    assert [e["status"] for e in server.requests()] == [503, 200]


def test_minted_key_works_with_openai(server: LocalServer) -> None:
    key = server.issue_api_key(expires_in=300)
    with openai.OpenAI(base_url=server.v2_base_url, api_key=key, max_retries=0) as client:
        assert client.chat.completions.create(model=V2_MODEL, messages=user("hi")).choices
        server.expire_api_key(key)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model=V2_MODEL, messages=user("hi"))
