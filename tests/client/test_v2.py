"""The v2 (OpenAI-compatible) client against the local server's v2 route: the v1 tables rerun
where they apply, plus what only v2 has (several tool calls, tool_choice, response_format,
bearer keys minted from IAM keys). Each row on the sync and the async path."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from qianfan_chat import (
    APIConnectionError,
    AuthenticationError,
    ChatCompletion,
    CredentialsError,
    InvalidRequestError,
    Messages,
    NotFoundError,
    QfResponse,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from qianfan_chat.server import LocalServer

from .conftest import AK, IAM_AK, IAM_SK, SK, Caller

API_KEY = "bce-v3/ALTAK-testkey0000000000000/0123456789abcdef0123456789abcdef01234567"
V2_PATH = "/v2/chat/completions"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "天气",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "description": "时间", "parameters": {"type": "object"}},
}


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def v2_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r["path"] == V2_PATH]


def bearer_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r["path"] == "/v1/BCE-BEARER/token"]


@pytest.fixture
def v2(server: LocalServer) -> Any:
    with ChatCompletion(version=2, api_key=API_KEY, base_url=server.base_url) as chat:
        yield chat


async def test_do_default_model_and_shape(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    resp = await caller.do(v2, user("你好"))
    assert isinstance(resp, QfResponse)
    assert resp["object"] == "chat.completion"
    choice = resp["choices"][0]
    assert choice["message"]["content"] == "您好！有什么我可以帮助您的吗？"
    assert choice["finish_reason"] == "stop"
    completion = resp.completion
    assert completion.text == choice["message"]["content"]
    assert completion.usage is not None
    assert completion.usage.total_tokens == resp["usage"]["total_tokens"]
    assert completion.choices[0].flag == 0
    assert resp.request_id
    (sent,) = v2_requests(server)
    assert sent["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert json.loads(sent["body"]) == {"model": "ernie-lite-8k", "messages": user("你好")}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"api_key": API_KEY}, 2, id="api-key-alone"),
        pytest.param({"api_key": API_KEY, "ak": AK, "sk": SK}, 1, id="v1-keys-win"),
        pytest.param({"ak": AK, "sk": SK}, 1, id="ak-sk"),
        pytest.param({"access_key": IAM_AK, "secret_key": IAM_SK}, 1, id="iam-defaults-to-v1"),
        pytest.param({"access_key": IAM_AK, "secret_key": IAM_SK, "version": "v2"}, 2, id="iam-v2"),
    ],
)
def test_version_selection(kwargs: dict[str, Any], expected: int) -> None:
    assert ChatCompletion(**kwargs).version == expected


def test_version_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QIANFAN_AK", "QIANFAN_SK", "QIANFAN_ACCESS_TOKEN", "QIANFAN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QIANFAN_BEARER_TOKEN", API_KEY)
    monkeypatch.setenv("QIANFAN_CONSOLE_API_BASE_URL", "http://127.0.0.1:9")
    chat = ChatCompletion()
    assert chat.version == 2
    assert chat.base_url == "http://127.0.0.1:9"


U = {"role": "user", "content": "hi"}
INVALID: list[tuple[str, Any, dict[str, Any], str, str]] = [
    ("no-messages", [], {}, "messages", "invalid_messages"),
    ("bad-role", [{"role": "robot", "content": "x"}], {}, "messages[0].role", "invalid_messages"),
    (
        "blank-last",
        [{"role": "user", "content": "  "}],
        {},
        "messages[0].content",
        "invalid_messages",
    ),
    (
        "tool-without-id",
        [
            U,
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "content": "1"},
        ],
        {},
        "messages[2].tool_call_id",
        "invalid_messages",
    ),
    ("temperature-zero", [U], {"temperature": 0}, "temperature", "invalid_argument"),
    ("top-p-high", [U], {"top_p": 1.5}, "top_p", "invalid_argument"),
    ("penalty-low", [U], {"penalty_score": 0.9}, "penalty_score", "invalid_argument"),
    ("stop-too-many", [U], {"stop": list("abcde")}, "stop", "invalid_argument"),
    ("max-tokens-zero", [U], {"max_tokens": 0}, "max_tokens", "invalid_argument"),
    ("tool-choice-any", [U], {"tool_choice": "any"}, "tool_choice", "invalid_argument"),
    (
        "bad-tool",
        [U],
        {"tools": [{"type": "function", "function": {"name": ""}}]},
        "tools[0].function.name",
        "invalid_argument",
    ),
    (
        "bad-format",
        [U],
        {"response_format": {"type": "yaml"}},
        "response_format",
        "invalid_argument",
    ),
]


@pytest.mark.parametrize(
    ("messages", "params", "field", "code"), [pytest.param(*r[1:], id=r[0]) for r in INVALID]
)
async def test_invalid_v2_request_rejected_before_network(
    caller: Caller,
    v2: ChatCompletion,
    server: LocalServer,
    messages: Any,
    params: dict[str, Any],
    field: str,
    code: str,
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await caller.do(v2, messages, **params)
    assert info.value.field == field
    assert info.value.error_code == code
    assert server.requests() == []


async def test_stream_text_and_usage(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    text = "第一句话。第二句话！第三句话？最后一句。"
    server.add_rule(contains="故事", text=text)
    chunks = await caller.stream(v2, user("讲个故事"))
    deltas = [c["choices"][0]["delta"] for c in chunks]  # every chunk has a choice
    assert deltas[0]["role"] == "assistant"
    assert "".join(d.get("content") or "" for d in deltas) == text
    # The include_usage chunk the client asked for is folded into the finish chunk (issue 9).
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert all(c.get("usage") is None for c in chunks[:-1])
    body = json.loads(v2_requests(server)[0]["body"])
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_stream_options_asked_by_the_caller_are_kept(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    """A caller who asks for stream_options gets the usage chunk as the server sends it."""
    chunks = await caller.stream(v2, user("讲个故事"), stream_options={"include_usage": True})
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert all(c["choices"] for c in chunks[:-1])


async def test_stream_object_text_usage(v2: ChatCompletion, server: LocalServer) -> None:
    server.add_rule(contains="故事", text="一。二。三。")
    stream = await v2.ado(user("故事"), stream=True)
    async with stream:
        async for _ in stream:
            pass
    assert stream.text == "一。二。三。"
    assert stream.usage is not None
    assert stream.usage["total_tokens"] > 0
    assert stream.closed


async def test_several_tool_calls_and_tool_messages_round_trip(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    # TEST DATA: a scripted reply asking for two tools at once, as a real model might.
    server.add_rule(
        contains="天气和时间",
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "北京"}},
            {"name": "get_time", "arguments": {}},
        ],
    )
    msgs = Messages()
    msgs.append("北京的天气和时间？")
    resp = await caller.do(v2, msgs, model="ernie-4.0-8k", tools=[WEATHER_TOOL, TIME_TOOL])
    choice = resp.completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather", "get_time"]
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "北京"}
    msgs.append(resp)
    msgs.append('{"weather": "晴"}')
    msgs.append('{"time": "12:00"}')
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "tool"]
    assert [m["tool_call_id"] for m in msgs[2:]] == [c.id for c in choice.message.tool_calls]
    resp = await caller.do(v2, msgs, model="ernie-4.0-8k", tools=[WEATHER_TOOL, TIME_TOOL])
    assert "12:00" in resp.completion.text or "晴" in resp.completion.text


@pytest.mark.parametrize(
    ("tool_choice", "called"),
    [
        pytest.param("required", "get_weather", id="required"),
        pytest.param(
            {"type": "function", "function": {"name": "get_time"}}, "get_time", id="named"
        ),
        pytest.param("none", None, id="none"),
    ],
)
async def test_tool_choice(
    caller: Caller, v2: ChatCompletion, tool_choice: Any, called: str | None
) -> None:
    resp = await caller.do(
        v2,
        user("随便聊聊"),
        model="ernie-4.0-8k",
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice=tool_choice,
    )
    calls = resp.completion.choices[0].message.tool_calls
    assert [c.function.name for c in calls][:1] == ([called] if called else [])


async def test_stream_tool_call_deltas(caller: Caller, v2: ChatCompletion) -> None:
    chunks = await caller.stream(
        v2, user("查一下"), model="ernie-4.0-8k", tools=[WEATHER_TOOL], tool_choice="required"
    )
    pieces = [
        tc["function"].get("arguments") or ""
        for c in chunks
        for choice in c["choices"]
        for tc in choice["delta"].get("tool_calls") or []
    ]
    assert len(pieces) >= 2
    assert "city" in json.loads("".join(pieces))


async def test_response_format_json_schema(caller: Caller, v2: ChatCompletion) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}, "unit": {"type": "string"}},
        "required": ["answer", "unit"],
    }
    resp = await caller.do(
        v2,
        user("1+1"),
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    data = json.loads(resp.completion.text)
    assert isinstance(data["answer"], int)
    assert isinstance(data["unit"], str)


RETRYABLE = [
    ("429", {"http_status": 429}, RateLimitError),
    ("500", {"http_status": 500}, ServerError),
    ("503", {"http_status": 503}, ServerError),
    ("rpm", {"error_code": "rpm_rate_limit_exceeded"}, RateLimitError),
    ("drop", {"drop": True}, APIConnectionError),
]


@pytest.mark.parametrize(("fault", "error"), [pytest.param(f, e, id=i) for i, f, e in RETRYABLE])
async def test_v2_retryable_faults(
    caller: Caller, v2: ChatCompletion, server: LocalServer, fault: dict[str, Any], error: type
) -> None:
    server.set_faults([{**fault, "times": 1}])
    resp = await caller.do(v2, user("hi"))
    assert resp.statistic["attempts"] == 2
    server.reset()
    server.set_faults([{**fault, "times": 1}])
    with pytest.raises(error) as info:
        await caller.do(v2, user("hi"), retry_count=0)
    if not isinstance(info.value, APIConnectionError):
        assert info.value.status_code in (429, 500, 503)
        assert isinstance(info.value.error_code, str)
        assert info.value.request_id


async def test_v2_unknown_model_and_bad_key(caller: Caller, server: LocalServer) -> None:
    with ChatCompletion(version=2, api_key=API_KEY, base_url=server.base_url) as chat:
        with pytest.raises(NotFoundError) as info:
            await caller.do(chat, user("hi"), model="no-such-model", retry_count=3)
    assert info.value.status_code == 401
    assert info.value.error_code == "invalid_model"
    assert len(v2_requests(server)) == 1
    with LocalServer(api_keys=[API_KEY]) as strict:
        with ChatCompletion(
            version=2, api_key="bce-v3/ALTAK-wrong/00", base_url=strict.base_url
        ) as chat:
            with pytest.raises(AuthenticationError) as auth:
                await caller.do(chat, user("hi"))
        assert auth.value.error_code == "invalid_iam_token"
        assert "ALTAK-wrong" not in str(auth.value)


async def test_v2_stream_cut_raises(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    server.add_rule(contains="故事", text="第一句。第二句。第三句。第四句。")
    server.set_faults([{"stream_cut": 2}])
    with pytest.raises(StreamInterruptedError):
        await caller.stream(v2, user("故事"), retry_count=2)
    assert len(v2_requests(server)) == 1


async def test_iam_keys_mint_one_bearer_key_and_refresh_once(
    caller: Caller, server: LocalServer
) -> None:
    with ChatCompletion(
        version=2,
        access_key=IAM_AK,
        secret_key=IAM_SK,
        base_url=server.base_url,
        iam_base_url=server.base_url,
    ) as chat:
        await caller.do(chat, user("hi"))
        await caller.do(chat, user("again"))
        assert len(bearer_requests(server)) == 1
        minted = v2_requests(server)[0]["headers"]["authorization"]
        assert minted.startswith("Bearer bce-v3/")
        server.set_faults([{"expire_token": True, "times": 1}])
        await caller.do(chat, user("after expiry"))
    assert len(bearer_requests(server)) == 2
    assert v2_requests(server)[-1]["headers"]["authorization"] != minted
    signed = bearer_requests(server)[0]["headers"]["authorization"]
    assert signed.startswith(f"bce-auth-v1/{IAM_AK}/")


async def test_iam_mint_is_single_flight(server: LocalServer) -> None:
    async with ChatCompletion(
        version=2,
        access_key=IAM_AK,
        secret_key=IAM_SK,
        base_url=server.base_url,
        iam_base_url=server.base_url,
    ) as chat:
        await asyncio.gather(*(chat.ado(user("hi")) for _ in range(30)))
    assert len(bearer_requests(server)) == 1
    assert len(v2_requests(server)) == 30


async def test_appid_and_request_id_headers(caller: Caller, server: LocalServer) -> None:
    with ChatCompletion(
        version=2, api_key=API_KEY, appid="app-42", base_url=server.base_url
    ) as chat:
        resp = await caller.do(chat, user("hi"), request_id="req-123")
    sent = v2_requests(server)[0]["headers"]
    assert sent["appid"] == "app-42"
    assert sent["x-request-id"] == "req-123"
    assert resp.request_id == "req-123"


async def test_no_v2_credentials(caller: Caller, server: LocalServer) -> None:
    chat = ChatCompletion(version=2, base_url=server.base_url, ak=AK, sk=SK)
    with pytest.raises(CredentialsError, match="QIANFAN_API_KEY"):
        await caller.do(chat, user("hi"))
    assert server.requests() == []


async def test_openai_style_base_url_is_accepted(caller: Caller, server: LocalServer) -> None:
    with ChatCompletion(version=2, api_key=API_KEY, base_url=server.base_url + "/v2/") as chat:
        await caller.do(chat, user("hi"))
    assert [r["path"] for r in server.requests()] == [V2_PATH]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        # Image parts are accepted since issue 11 (tests/client/test_v2_extensions.py).
        pytest.param([{"type": "audio", "audio": {}}], "messages[0].content[0]", id="unknown-part"),
        pytest.param(
            [{"type": "text", "text": 5}], "messages[0].content[0].text", id="text-not-string"
        ),
        pytest.param("x", None, id="string-ok"),
    ],
)
async def test_v2_content_parts_are_checked(
    caller: Caller, v2: ChatCompletion, server: LocalServer, content: Any, field: str | None
) -> None:
    if field is None:
        await caller.do(v2, [{"role": "user", "content": content}])
        return
    with pytest.raises(InvalidRequestError) as info:
        await caller.do(v2, [{"role": "user", "content": content}])
    assert info.value.field == field
    assert server.requests() == []
