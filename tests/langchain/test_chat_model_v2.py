"""``QianfanChatEndpoint`` on the v2 (OpenAI-compatible) API against the local server's
``/v2/chat/completions`` route over loopback HTTP: what it sends, what it returns, on the sync
and the async path. Scripted replies here are TEST DATA."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.load import dumpd, load
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from qianfan_chat import BadRequestError, CredentialsError, InvalidRequestError
from qianfan_chat._protocol.tokens import estimate_tokens
from qianfan_chat.langchain import QianfanChatEndpoint
from qianfan_chat.server import LocalServer, ServerConfig

from .conftest import Runner

API_KEY = "bce-v3/ALTAK-lctest00000000000000/0123456789abcdef0123456789abcdef01234567"
IAM_AK, IAM_SK = "lc-iam-access-key", "lc-iam-secret-key"
MODEL = "ernie-3.5-8k"
V2_PATH = "/v2/chat/completions"
GREETING = "您好！有什么我可以帮助您的吗？"  # the server's default answer to a greeting
ENV = ("AK", "SK", "ACCESS_TOKEN", "ACCESS_KEY", "SECRET_KEY", "API_KEY", "BEARER_TOKEN")


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    config = ServerConfig(
        iam_keys={IAM_AK: IAM_SK}, custom_endpoints=["my-service"], stream_chunk_chars=4
    )
    with LocalServer(config) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.reset()
    for name in (*ENV, "BASE_URL", "CONSOLE_API_BASE_URL", "IAM_BASE_URL", "APP_ID"):
        monkeypatch.delenv(f"QIANFAN_{name}", raising=False)


@pytest.fixture
def chat(server: LocalServer) -> QianfanChatEndpoint:
    return QianfanChatEndpoint(model=MODEL, base_url=server.base_url, api_key=API_KEY)


def v2_requests(server: LocalServer) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r["path"] == V2_PATH]


def last_body(server: LocalServer) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(v2_requests(server)[-1]["body"])
    return body


def added(chunks: list[Any]) -> Any:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


# -- replies ------------------------------------------------------------------------------------


async def test_invoke(chat: QianfanChatEndpoint, server: LocalServer, run: Runner) -> None:
    message = await run.invoke(chat, [HumanMessage("Hello")])
    assert isinstance(message, AIMessage)
    assert message.content == GREETING
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] > 0
    meta = message.response_metadata
    assert (meta["model_name"], meta["model_provider"]) == (MODEL, "qianfan")
    assert (meta["finish_reason"], meta["flag"], meta["ban_round"]) == ("stop", 0, -1)
    (logged,) = v2_requests(server)
    assert meta["request_id"] == logged["request_id"]
    assert message.id == meta["id"]
    assert logged["headers"]["authorization"] == f"Bearer {API_KEY}"
    # Parameters not set are not sent.
    assert json.loads(logged["body"]) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hello"}],
    }


async def test_stream(chat: QianfanChatEndpoint, server: LocalServer, run: Runner) -> None:
    chunks = await run.stream(chat, "Hello")
    assert len(chunks) > 3
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert [c.chunk_position for c in chunks] == [None] * (len(chunks) - 1) + ["last"]
    with_usage = [c for c in chunks if c.usage_metadata]
    assert with_usage == [chunks[-1]]  # usage exactly once, from the include_usage chunk
    total = added(chunks)
    assert total.content == GREETING
    whole = await run.invoke(chat, "Hello")
    assert total.usage_metadata == whole.usage_metadata
    for key in ("model_name", "finish_reason", "flag", "ban_round"):
        assert total.response_metadata[key] == whole.response_metadata[key]
    body = json.loads(v2_requests(server)[0]["body"])
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})


async def test_batch(chat: QianfanChatEndpoint, run: Runner) -> None:
    results = await run.batch(chat, ["Hello", "你在说什么"])
    assert results[0].content == GREETING
    assert "你在说什么" in results[1].content


@pytest.mark.parametrize("where", ["field", "per-call"])
async def test_streaming_invoke(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner, where: str
) -> None:
    """``streaming=True`` streams under the hood and aggregates, usage included."""
    kwargs: dict[str, Any] = {}
    if where == "field":
        chat = chat.model_copy(update={"streaming": True})
    else:
        kwargs["streaming"] = True
    message = await run.invoke(chat, "Hello", **kwargs)
    assert isinstance(message, AIMessage)
    assert message.content == GREETING
    assert message.usage_metadata is not None
    assert message.response_metadata["finish_reason"] == "stop"
    (logged,) = v2_requests(server)
    assert logged["stream"] is True


async def test_flag_and_ban_round(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    """Baidu's safety fields: ``flag`` (2: stop the conversation) and ``ban_round``."""
    server.add_rule(contains="unsafe", text="换个话题吧。", need_clear_history=True, ban_round=3)
    message = await run.invoke(chat, "something unsafe")
    assert (message.response_metadata["flag"], message.response_metadata["ban_round"]) == (2, 3)
    chunks = await run.stream(chat, "something unsafe")
    meta = added(chunks).response_metadata
    assert (meta["flag"], meta["ban_round"]) == (2, 3)


async def test_api_error_is_typed(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    server.add_rule(contains="boom", error_code=336003, error_msg="bad things")
    with pytest.raises(BadRequestError, match="bad things") as info:
        await run.invoke(chat, "boom")
    assert info.value.error_code == "invalid_argument"
    with pytest.raises(BadRequestError):
        await run.stream(chat, "boom")


async def test_async_is_native(chat: QianfanChatEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """ainvoke/astream/abatch use ado; nothing runs in an executor thread."""
    import langchain_core.language_models.chat_models as chat_models

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("sync code ran on the async path")

    monkeypatch.setattr(chat_models, "run_in_executor", forbidden)
    monkeypatch.setattr(type(chat.client), "do", forbidden)
    monkeypatch.setattr(QianfanChatEndpoint, "_generate", forbidden)
    monkeypatch.setattr(QianfanChatEndpoint, "_stream", forbidden)
    assert (await chat.ainvoke("Hello")).content == GREETING
    assert (await chat.ainvoke("Hello", streaming=True)).content == GREETING
    assert "".join([str(c.content) async for c in chat.astream("Hello")]) == GREETING
    assert [m.content for m in await chat.abatch(["Hello", "Hi"])] == [GREETING, GREETING]


# -- what is sent -------------------------------------------------------------------------------

PARAMS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (id, constructor fields, per-call keywords, expected body keys besides model/messages)
    (
        "fields",
        {"temperature": 0.3, "top_p": 0.5, "penalty_score": 1.2, "max_tokens": 64},
        {},
        {"temperature": 0.3, "top_p": 0.5, "penalty_score": 1.2, "max_tokens": 64},
    ),
    (
        "per-call-wins",
        {"temperature": 0.3, "top_p": 0.5},
        {"temperature": 0.1, "top_p": 0.4, "penalty_score": 1},
        {"temperature": 0.1, "top_p": 0.4, "penalty_score": 1},
    ),
    ("temperature-0", {"temperature": 0}, {}, {"temperature": 0.01}),
    ("stop-field", {"stop": ["。"]}, {}, {"stop": ["。"]}),
    ("stop-per-call", {"stop": ["。"]}, {"stop": ["!"]}, {"stop": ["!"]}),
    ("stop-empty-not-sent", {"stop": []}, {}, {}),
    ("user-id-as-user", {"user_id": "u-1"}, {}, {"user": "u-1"}),
    ("model-kwargs", {"model_kwargs": {"seed": 7}}, {}, {"seed": 7}),
    (
        "v1-spellings-per-call",
        {},
        {"max_output_tokens": 9, "user_id": "u-2"},
        {"max_tokens": 9, "user": "u-2"},
    ),
    ("max-tokens-per-call", {}, {"max_tokens": 9}, {"max_tokens": 9}),
    (
        "response-format-string",
        {},
        {"response_format": "json_object"},
        {"response_format": {"type": "json_object"}},
    ),
    ("client-options-not-in-body", {}, {"timeout": 5, "max_retries": 0}, {}),
]


@pytest.mark.parametrize(
    ("fields", "call", "expected"), [pytest.param(*p[1:], id=p[0]) for p in PARAMS]
)
async def test_parameters_sent(
    server: LocalServer,
    run: Runner,
    fields: dict[str, Any],
    call: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    chat = QianfanChatEndpoint(model=MODEL, base_url=server.base_url, api_key=API_KEY, **fields)
    await run.invoke(chat, "Hello", **call)
    body = last_body(server)
    assert body.pop("model") == MODEL
    assert body.pop("messages") == [{"role": "user", "content": "Hello"}]
    assert body == expected


async def test_model_override_default_and_service(server: LocalServer, run: Runner) -> None:
    chat = QianfanChatEndpoint(base_url=server.base_url, api_key=API_KEY)
    message = await run.invoke(chat, "Hello")
    assert last_body(server)["model"] == "ernie-lite-8k"  # the v2 default model
    assert message.response_metadata["model_name"] == "ernie-lite-8k"
    message = await run.invoke(chat, "Hello", model="ernie-4.0-8k")
    assert last_body(server)["model"] == "ernie-4.0-8k"
    assert message.response_metadata["model_name"] == "ernie-4.0-8k"
    service = QianfanChatEndpoint(endpoint="my-service", base_url=server.base_url, api_key=API_KEY)
    message = await run.invoke(service, "Hello")
    assert last_body(server)["model"] == "my-service"  # a deployed service's API name
    assert message.response_metadata["model_name"] == "my-service"


async def test_conversation_sent_in_v2_shape(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    """System messages in ``messages``, the persona first; turns as given; an AIMessage with
    two tool calls is one assistant message; ToolMessages are ``tool`` messages."""
    calls = [
        {"name": "w", "args": {"city": "A"}, "id": "c1", "type": "tool_call"},
        {"name": "w", "args": {"city": "B"}, "id": "c2", "type": "tool_call"},
    ]
    persona = chat.model_copy(update={"system": "你是助手"})
    await run.invoke(
        persona,
        [
            SystemMessage("Be brief."),
            HumanMessage("Weather in A"),
            HumanMessage("and B?"),
            AIMessage("", tool_calls=calls),
            ToolMessage("sun", tool_call_id="c1"),
            ToolMessage("rain", tool_call_id="c2"),
            AIMessage("A: sun, B: rain."),
            HumanMessage("Thanks"),
        ],
    )
    messages = last_body(server)["messages"]
    assert [m["role"] for m in messages] == [
        "system", "system", "user", "user", "assistant", "tool", "tool", "assistant", "user",
    ]  # fmt: skip
    assert [m["content"] for m in messages[:2]] == ["你是助手", "Be brief."]
    assert [c["id"] for c in messages[4]["tool_calls"]] == ["c1", "c2"]
    assert [(m["tool_call_id"], m["name"]) for m in messages[5:7]] == [("c1", "w"), ("c2", "w")]


# -- tools ---------------------------------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "sunny"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return "noon"


FORCE_TIME = {"type": "function", "function": {"name": "get_time"}}
TOOL_CHOICES: list[tuple[str, Any, Any, list[str] | None]] = [
    # (id, tool_choice, sent as, the calls made (None: no call))
    ("default", None, None, None),
    ("auto", "auto", "auto", None),
    ("none", "none", "none", None),
    ("any", "any", "required", ["get_weather"]),
    ("required", "required", "required", ["get_weather"]),
    ("true", True, "required", ["get_weather"]),
    ("name", "get_time", FORCE_TIME, ["get_time"]),
    ("openai-dict", FORCE_TIME, FORCE_TIME, ["get_time"]),
    ("anthropic-dict", {"type": "tool", "name": "get_time"}, FORCE_TIME, ["get_time"]),
]


@pytest.mark.parametrize(
    ("choice", "sent", "called"), [pytest.param(*t[1:], id=t[0]) for t in TOOL_CHOICES]
)
async def test_tool_choice_sent_natively(
    chat: QianfanChatEndpoint,
    server: LocalServer,
    run: Runner,
    choice: Any,
    sent: Any,
    called: list[str] | None,
) -> None:
    llm = chat.bind_tools([get_weather, get_time], tool_choice=choice)
    message = await run.invoke(llm, "随便聊聊")
    body = last_body(server)
    assert body.get("tool_choice") == sent
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert [c["name"] for c in message.tool_calls] == (called or [])


def test_tool_choice_checked_at_bind(chat: QianfanChatEndpoint) -> None:
    with pytest.raises(ValueError, match="not among the tools"):
        chat.bind_tools([get_weather], tool_choice="get_time")


async def test_several_tool_calls_round_trip(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    """Two calls in one reply (TEST DATA: a scripted choice a real model might make) come back
    as one AIMessage with two tool calls (and as indexed tool_call_chunks in a stream); sent
    back with their results they are ONE assistant message and two ``tool`` messages."""
    server.add_rule(
        contains="天气和时间",
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "北京"}},
            {"name": "get_time", "arguments": {"city": "北京"}},
        ],
    )
    llm = chat.bind_tools([get_weather, get_time])
    question = [SystemMessage("简短回答。"), HumanMessage("北京的天气和时间？")]
    first = await run.invoke(llm, question)
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [
        ("get_weather", {"city": "北京"}),
        ("get_time", {"city": "北京"}),
    ]
    assert len({c["id"] for c in first.tool_calls}) == 2
    assert first.response_metadata["finish_reason"] == "tool_calls"
    chunks = await run.stream(llm, question)
    assert {p["index"] for c in chunks for p in c.tool_call_chunks} == {0, 1}
    streamed = added(chunks)
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [
        (c["name"], c["args"]) for c in first.tool_calls
    ]
    tools = [get_weather, get_time]
    results = [t.invoke(call) for t, call in zip(tools, first.tool_calls, strict=True)]
    answer = await run.invoke(llm, [*question, first, *results])
    assert isinstance(answer.content, str)
    assert answer.content
    messages = last_body(server)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool"]
    sent_calls = messages[2]["tool_calls"]
    assert [c["id"] for c in sent_calls] == [c["id"] for c in first.tool_calls]
    assert [json.loads(c["function"]["arguments"]) for c in sent_calls] == [
        {"city": "北京"},
        {"city": "北京"},
    ]
    assert [m["tool_call_id"] for m in messages[3:]] == [c["id"] for c in first.tool_calls]
    assert [m["content"] for m in messages[3:]] == ["sunny", "noon"]


async def test_parallel_tool_calls_false(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    server.add_rule(
        contains="都要",
        tool_calls=[
            {"name": "get_weather", "arguments": {}},
            {"name": "get_time", "arguments": {}},
        ],
    )
    llm = chat.bind_tools([get_weather, get_time], parallel_tool_calls=False)
    message = await run.invoke(llm, "都要")
    assert last_body(server)["parallel_tool_calls"] is False
    assert [c["name"] for c in message.tool_calls] == ["get_weather"]


# -- structured output -------------------------------------------------------------------------


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


JOKE = {"setup": "Why do cats like boxes?", "punchline": "Thinking inside them."}
JOKE_SCHEMA = {
    "type": "object",
    "properties": {
        "setup": {"type": "string", "description": "question to set up a joke"},
        "punchline": {"type": "string", "description": "answer to resolve the joke"},
    },
    "required": ["setup", "punchline"],
}


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
@pytest.mark.parametrize("schema", [Joke, Joke.model_json_schema()], ids=["pydantic", "dict"])
async def test_structured_output(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner, method: str, schema: Any
) -> None:
    # TEST DATA: the joke as text (json_schema, json_mode), then as the forced call (a forced
    # function skips text rules on v2).
    server.add_rule(contains="joke", text=json.dumps(JOKE))
    server.add_rule(contains="joke", tool_calls=[{"name": "Joke", "arguments": JOKE}])
    structured = chat.with_structured_output(schema, method=method)  # type: ignore[arg-type]
    prompt = "Tell me a joke. Answer in JSON with setup and punchline."
    expected = Joke(**JOKE) if schema is Joke else JOKE
    assert await run.invoke(structured, prompt) == expected
    streamed = await run.stream(structured, prompt)
    assert streamed[-1] == expected
    body = last_body(server)
    if method == "function_calling":
        assert body["tool_choice"] == {"type": "function", "function": {"name": "Joke"}}
        assert [t["function"]["name"] for t in body["tools"]] == ["Joke"]
        assert "response_format" not in body
    elif method == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
        json_schema = body["response_format"]["json_schema"]
        assert set(json_schema) == {"name", "schema"}  # strict not given: not sent
        assert json_schema["name"] == "Joke"
        assert json_schema["schema"]["required"] == JOKE_SCHEMA["required"]
        assert set(json_schema["schema"]["properties"]) == set(JOKE_SCHEMA["properties"])
        assert "tools" not in body
    else:
        assert body["response_format"] == {"type": "json_object"}
        assert "tools" not in body


async def test_json_schema_strict_and_server_default(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    """``strict`` goes into ``json_schema``; an unscripted reply still follows the schema (the
    server's default: JSON made from it)."""
    structured = chat.with_structured_output(Joke, method="json_schema", strict=True)
    result = await run.invoke(structured, "anything")
    assert isinstance(result, Joke)
    json_schema = last_body(server)["response_format"]["json_schema"]
    assert json_schema["strict"] is True
    assert json_schema["schema"]["additionalProperties"] is False


async def test_structured_output_include_raw(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    server.add_rule(contains="prose", text="Not JSON at all.")
    server.add_rule(contains="joke", tool_calls=[{"name": "Joke", "arguments": JOKE}])
    out = await run.invoke(chat.with_structured_output(Joke, include_raw=True), "a joke")
    assert isinstance(out["raw"], AIMessage)
    assert out["parsed"] == Joke(**JOKE)
    assert out["parsing_error"] is None
    bad = chat.with_structured_output(Joke, method="json_schema", include_raw=True)
    out = await run.invoke(bad, "prose please")
    assert out["parsed"] is None
    assert out["parsing_error"] is not None


# -- the API version, credentials, client, construction ------------------------------------------

APP_ENV = {"QIANFAN_AK": "app-ak", "QIANFAN_SK": "app-sk"}
APP_KEYS = {"api_key": "app-ak", "secret_key": "app-sk"}
IAM_KEYS = {"access_key": IAM_AK, "secret_key": IAM_SK}
VERSIONS: list[tuple[str, dict[str, str], dict[str, Any], str]] = [
    # (id, environment, constructor arguments, the version chosen)
    ("v2-key", {}, {"api_key": API_KEY}, "v2"),
    ("app-keys", {}, APP_KEYS, "v1"),
    ("env-api-key-alone", {"QIANFAN_API_KEY": "k"}, {}, "v2"),
    ("env-bearer-token-alone", {"QIANFAN_BEARER_TOKEN": "k"}, {}, "v2"),
    ("env-api-key-and-ak-sk", {"QIANFAN_API_KEY": "k", **APP_ENV}, {}, "v1"),
    ("env-api-key-and-token", {"QIANFAN_API_KEY": "k", "QIANFAN_ACCESS_TOKEN": "t"}, {}, "v1"),
    ("env-api-key-and-given-keys", {"QIANFAN_API_KEY": "k"}, APP_KEYS, "v1"),
    ("v2-key-beats-env-ak-sk", APP_ENV, {"api_key": API_KEY}, "v2"),
    ("env-api-key-and-given-iam", {"QIANFAN_API_KEY": "k"}, {"init_kwargs": IAM_KEYS}, "v1"),
    ("env-api-key-and-given-key", {"QIANFAN_API_KEY": "k"}, {"api_key": "app-ak"}, "v1"),
    ("explicit-v2", {}, {"api_key": "local-key", "api_version": "v2"}, "v2"),
    ("explicit-v1", {}, {"api_key": API_KEY, "secret_key": "s", "api_version": "v1"}, "v1"),
    ("iam-keys-alone", {"QIANFAN_ACCESS_KEY": "a", "QIANFAN_SECRET_KEY": "s"}, {}, "v1"),
    ("nothing", {}, {}, "v1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("env", "kwargs", "version"), [pytest.param(*v[1:], id=v[0]) for v in VERSIONS]
)
@pytest.mark.filterwarnings("ignore:secret_key is a v1 App Secret Key")
def test_api_version_choice(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kwargs: dict[str, Any], version: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    chat = QianfanChatEndpoint(**kwargs)
    assert chat.resolved_api_version == version
    assert chat.client.version == int(version[1])  # the client speaks the same version
    for name in env:
        monkeypatch.delenv(name)
    assert chat.resolved_api_version == version  # the environment as it was at construction


@pytest.mark.parametrize(
    ("env", "kwargs", "version"), [pytest.param(*v[1:], id=v[0]) for v in VERSIONS]
)
@pytest.mark.filterwarnings("ignore:secret_key is a v1 App Secret Key")
def test_a_bad_call_option_leaves_the_version_known(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kwargs: dict[str, Any], version: str
) -> None:
    """A bad retry setting is an error of the first call, not of the model: the version
    (``Settings.version_of``: the credentials alone) is chosen all the same."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    chat = QianfanChatEndpoint(**kwargs, max_retries=-1)
    assert chat.resolved_api_version == version
    with pytest.raises(InvalidRequestError, match="retry_count"):
        chat.invoke("hi")


async def test_credentials_from_environment(
    server: LocalServer, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``QIANFAN_API_KEY`` alone: v2, the client reads the key (and the v2 base URL) itself."""
    monkeypatch.setenv("QIANFAN_CONSOLE_API_BASE_URL", server.base_url)
    monkeypatch.setenv("QIANFAN_API_KEY", "env-v2-key")
    chat = QianfanChatEndpoint()
    assert chat.qianfan_ak is None
    assert (await run.invoke(chat, "Hello")).content == GREETING
    (logged,) = v2_requests(server)
    assert logged["headers"]["authorization"] == "Bearer env-v2-key"
    assert json.loads(logged["body"])["model"] == "ernie-lite-8k"


async def test_iam_keys_mint_the_bearer_key(server: LocalServer, run: Runner) -> None:
    chat = QianfanChatEndpoint(
        api_version="v2",
        model=MODEL,
        base_url=server.base_url,
        init_kwargs={
            "access_key": IAM_AK,
            "secret_key": IAM_SK,
            "iam_base_url": server.base_url,
            "appid": "app-7",
        },
    )
    assert (await run.invoke(chat, "Hello")).content == GREETING
    (logged,) = v2_requests(server)
    assert logged["headers"]["authorization"].startswith("Bearer bce-v3/")
    assert logged["headers"]["appid"] == "app-7"


async def test_missing_credentials_fail_at_first_call(server: LocalServer, run: Runner) -> None:
    chat = QianfanChatEndpoint(api_version="v2", base_url=server.base_url)
    with pytest.raises(CredentialsError, match="QIANFAN_API_KEY"):
        await run.invoke(chat, "Hello")
    assert server.requests() == []  # failed before the network


def test_secrets_are_masked(chat: QianfanChatEndpoint) -> None:
    assert API_KEY not in repr(chat)
    assert API_KEY not in str(chat.asdict())
    assert API_KEY not in json.dumps(dumpd(chat))
    assert API_KEY not in repr(chat.client)


async def test_one_client_one_pool(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    client = chat.client
    assert client.version == 2
    await run.invoke(chat, "Hello")
    await run.stream(chat.bind_tools([get_weather]), "Hello")
    await run.batch(chat, ["Hello", "Hi"])
    assert chat.client is client
    other = chat.model_copy(update={"model": "ernie-4.0-8k"})  # other settings, own client
    await run.invoke(other, "Hello")
    assert last_body(server)["model"] == "ernie-4.0-8k"
    assert other.client is not client
    assert chat.client is client


def test_construction() -> None:
    with pytest.raises(ValueError, match=r"'ERNIE-3\.5-8K' is not a v2 model id.*'ernie-3\.5-8k'"):
        QianfanChatEndpoint(model="ERNIE-3.5-8K", api_key=API_KEY)
    assert QianfanChatEndpoint(model="my-deployed-service", api_key=API_KEY).model is not None
    with pytest.warns(UserWarning, match="secret_key is a v1 App Secret Key"):
        QianfanChatEndpoint(api_key=API_KEY, secret_key="sk")
    with pytest.raises(ValueError, match="api_version"):
        QianfanChatEndpoint(api_key=API_KEY, api_version="v3")  # type: ignore[arg-type]


def test_ls_params_and_identity() -> None:
    chat = QianfanChatEndpoint(api_key=API_KEY, temperature=0.2, max_tokens=10, stop=["x"])
    assert chat._get_ls_params() == {
        "ls_provider": "qianfan",
        "ls_model_name": "ernie-lite-8k",  # the v2 default model
        "ls_model_type": "chat",
        "ls_temperature": 0.2,
        "ls_max_tokens": 10,
        "ls_stop": ["x"],
    }
    assert chat._identifying_params["api_version"] == "v2"
    assert chat._identifying_params["max_tokens"] == 10


@pytest.mark.parametrize(
    ("model", "tools", "reasoning"),
    [
        pytest.param("ernie-3.5-8k", True, False, id="function-calling"),
        pytest.param(None, False, False, id="default-lite-no-tools"),
        pytest.param("deepseek-r1", True, True, id="reasoning"),
    ],
)
def test_model_profile(model: str | None, tools: bool, reasoning: bool) -> None:
    profile = QianfanChatEndpoint(model=model, api_key=API_KEY).profile
    assert profile is not None
    assert (profile["tool_calling"], profile["tool_choice"]) == (tools, tools)
    assert profile["reasoning_output"] is reasoning
    assert QianfanChatEndpoint(model="my-service", api_key=API_KEY).profile is None


def test_num_tokens() -> None:
    chat = QianfanChatEndpoint(api_key=API_KEY, system="简短")
    assert chat.get_num_tokens("你好 hello") == estimate_tokens("你好 hello")
    assert chat.get_num_tokens_from_messages([HumanMessage("你好")]) == estimate_tokens("简短") + 2
    with_tools = chat.get_num_tokens_from_messages([HumanMessage("你好")], tools=[get_weather])
    assert with_tools > 4


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialization_round_trip(chat: QianfanChatEndpoint) -> None:
    """Serialised without the key (the secret QIANFAN_API_KEY) and with the version chosen;
    loaded back, it is v2 again whatever the key looks like."""
    data = dumpd(chat)
    assert data["kwargs"]["qianfan_ak"] == {"lc": 1, "type": "secret", "id": ["QIANFAN_API_KEY"]}
    assert data["kwargs"]["api_version"] == "v2"
    loaded = load(
        data,
        secrets_map={"QIANFAN_API_KEY": "local-key"},
        valid_namespaces=["qianfan_chat"],
        allowed_objects=[QianfanChatEndpoint],
    )
    assert isinstance(loaded, QianfanChatEndpoint)
    assert loaded.resolved_api_version == "v2"
    assert loaded.qianfan_ak is not None
    assert loaded.qianfan_ak.get_secret_value() == "local-key"
