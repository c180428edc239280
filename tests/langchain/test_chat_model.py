"""``QianfanChatEndpoint`` against the local server over loopback HTTP: what it sends, what it
returns, on the sync and the async path. Scripted replies here are TEST DATA."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
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
from typing_extensions import override

import qianfan_chat
from qianfan_chat import BadRequestError, CredentialsError
from qianfan_chat._protocol.tokens import estimate_tokens
from qianfan_chat.langchain import QianfanChatEndpoint, ToolChoiceNotForcedWarning
from qianfan_chat.server import LocalServer, ServerConfig

from .conftest import Runner

AK, SK = "lc-test-ak", "lc-test-sk"
MODEL = "ERNIE-3.5-8K"
GREETING = "您好！有什么我可以帮助您的吗？"  # the server's default answer to a greeting


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    config = ServerConfig(
        custom_endpoints=["my-service"],
        access_tokens=["ready-token"],
        stream_end_empty=True,  # text first, then an empty is_end chunk, as real streams do
        stream_chunk_chars=4,
    )
    with LocalServer(config) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.reset()
    for name in ("AK", "SK", "ACCESS_TOKEN", "ACCESS_KEY", "SECRET_KEY", "BASE_URL"):
        monkeypatch.delenv(f"QIANFAN_{name}", raising=False)


@pytest.fixture
def chat(server: LocalServer) -> QianfanChatEndpoint:
    return QianfanChatEndpoint(model=MODEL, base_url=server.base_url, api_key=AK, secret_key=SK)


def chat_bodies(server: LocalServer) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in server.requests() if "/chat/" in r["path"]]


def last_body(server: LocalServer) -> dict[str, Any]:
    return chat_bodies(server)[-1]


class TokenCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.chunks: list[Any] = []
        self.options: list[Any] = []

    @override
    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        self.tokens.append(token)
        self.chunks.append(chunk)

    @override
    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        options: Any = None,
        **kwargs: Any,
    ) -> None:
        self.options.append(options)


# -- replies ------------------------------------------------------------------------------------


async def test_invoke(chat: QianfanChatEndpoint, server: LocalServer, run: Runner) -> None:
    message = await run.invoke(chat, [HumanMessage("Hello")])
    assert isinstance(message, AIMessage)
    assert message.content == GREETING
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] > 0
    meta = message.response_metadata
    assert meta["model_name"] == MODEL
    assert meta["finish_reason"] == "normal"
    assert meta["need_clear_history"] is False
    (logged,) = [r for r in server.requests() if "/chat/" in r["path"]]
    assert meta["request_id"] == logged["request_id"]
    assert message.id == meta["id"]


async def test_stream(chat: QianfanChatEndpoint, run: Runner) -> None:
    chunks = await run.stream(chat, "Hello")
    assert len(chunks) > 2
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert [c.chunk_position for c in chunks] == [None] * (len(chunks) - 1) + ["last"]
    assert chunks[-1].content == ""  # stream_end_empty: the is_end chunk has no text
    with_usage = [c for c in chunks if c.usage_metadata]
    assert with_usage == [chunks[-1]]  # usage exactly once, from the final chunk
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.content == GREETING
    whole = await run.invoke(chat, "Hello")
    assert total.usage_metadata == whole.usage_metadata
    assert total.response_metadata["model_name"] == MODEL


async def test_batch(chat: QianfanChatEndpoint, run: Runner) -> None:
    results = await run.batch(chat, ["Hello", "你在说什么"])
    assert results[0].content == GREETING
    assert "你在说什么" in results[1].content


@pytest.mark.parametrize("where", ["field", "per-call"])
async def test_streaming_invoke(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner, where: str
) -> None:
    """``streaming=True`` (on the model or per call) streams under the hood and aggregates;
    ``on_llm_new_token`` fires once per chunk."""
    counter = TokenCounter()
    kwargs: dict[str, Any] = {"config": {"callbacks": [counter]}}
    plain = chat
    if where == "field":
        chat = chat.model_copy(update={"streaming": True})
    else:
        kwargs["streaming"] = True
    message = await run.invoke(chat, "Hello", **kwargs)
    assert isinstance(message, AIMessage)
    assert message.content == GREETING
    assert message.usage_metadata is not None
    (logged,) = [r for r in server.requests() if "/chat/" in r["path"]]
    assert logged["stream"] is True
    assert "".join(counter.tokens) == GREETING
    chunks = await run.stream(plain, "Hello")
    assert len(counter.tokens) == len(chunks) > 2  # once per chunk


async def test_on_llm_new_token_once_per_chunk(chat: QianfanChatEndpoint, run: Runner) -> None:
    counter = TokenCounter()
    chunks = await run.stream(chat, "Hello", config={"callbacks": [counter]})
    assert len(counter.chunks) == len(chunks)
    assert [c.message.content for c in counter.chunks] == [c.content for c in chunks]


async def test_need_clear_history(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    server.add_rule(contains="unsafe", text="换个话题吧。", need_clear_history=True, ban_round=-1)
    message = await run.invoke(chat, "something unsafe")
    assert message.response_metadata["need_clear_history"] is True
    assert message.response_metadata["ban_round"] == -1
    chunks = await run.stream(chat, "something unsafe")
    assert chunks[-1].response_metadata["need_clear_history"] is True


async def test_api_error_is_typed(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    server.add_rule(contains="boom", error_code=336003, error_msg="bad things")
    with pytest.raises(BadRequestError, match="bad things"):
        await run.invoke(chat, "boom")
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


async def test_unset_parameters_are_not_sent(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    await run.invoke(chat, "Hello")
    assert last_body(server) == {"messages": [{"role": "user", "content": "Hello"}]}


PARAMS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (id, constructor fields, per-call keywords, expected body keys)
    (
        "fields",
        {"temperature": 0.3, "top_p": 0.5, "penalty_score": 1.2, "max_tokens": 64},
        {},
        {"temperature": 0.3, "top_p": 0.5, "penalty_score": 1.2, "max_output_tokens": 64},
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
    (
        "system-and-user-id",
        {"system": "你是助手", "user_id": "u-1"},
        {},
        {"system": "你是助手", "user_id": "u-1"},
    ),
    ("model-kwargs", {"model_kwargs": {"disable_search": True}}, {}, {"disable_search": True}),
    (
        "extra-per-call",
        {},
        {"enable_citation": True, "max_tokens": 9},
        {"enable_citation": True, "max_output_tokens": 9},
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
    chat = QianfanChatEndpoint(
        model=MODEL, base_url=server.base_url, api_key=AK, secret_key=SK, **fields
    )
    await run.invoke(chat, "Hello", **call)
    body = last_body(server)
    assert body.pop("messages") == [{"role": "user", "content": "Hello"}]
    assert body == expected


async def test_model_override_and_endpoint(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    message = await run.invoke(chat, "Hello", model="ERNIE-4.0-8K")
    assert message.response_metadata["model_name"] == "ERNIE-4.0-8K"
    assert server.requests()[-1]["path"].endswith("/chat/completions_pro")
    service = QianfanChatEndpoint(
        endpoint="my-service", base_url=server.base_url, api_key=AK, secret_key=SK
    )
    message = await run.invoke(service, "Hello")
    assert message.response_metadata["model_name"] == "my-service"
    assert server.requests()[-1]["path"].endswith("/chat/my-service")


async def test_conversation_sent_in_v1_shape(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    """Systems to ``system``, merged turns, every tool call as its own pair, a trailing AI turn
    dropped: the client's validator (v1's rules) accepts what is sent."""
    calls = [
        {"name": "w", "args": {"city": "A"}, "id": "1", "type": "tool_call"},
        {"name": "w", "args": {"city": "B"}, "id": "2", "type": "tool_call"},
    ]
    await run.invoke(
        chat,
        [
            SystemMessage("Be brief."),
            HumanMessage("Weather in A"),
            HumanMessage("and B?"),
            AIMessage("", tool_calls=calls),
            ToolMessage("sun", tool_call_id="1"),
            ToolMessage("rain", tool_call_id="2"),
            AIMessage("A: sun, B: rain."),
            HumanMessage("Thanks"),
            AIMessage("You're"),
        ],
    )
    body = last_body(server)
    assert body["system"] == "Be brief."
    assert [m["role"] for m in body["messages"]] == [
        "user", "assistant", "function", "assistant", "function", "assistant", "user",
    ]  # fmt: skip
    assert body["messages"][0]["content"] == "Weather in A\n\nand B?"
    assert [m.get("name") for m in body["messages"] if m["role"] == "function"] == ["w", "w"]


# -- tools ---------------------------------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "sunny"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return "noon"


FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}
TOOL_CHOICES: list[tuple[str, list[Any], Any, dict[str, Any]]] = [
    # (id, tools, tool_choice, expected tool_choice / functions in the body)
    ("default", [get_weather, get_time], None, {"tool_choice": None, "functions": 2}),
    ("auto", [get_weather, get_time], "auto", {"tool_choice": None, "functions": 2}),
    ("none", [get_weather, get_time], "none", {"tool_choice": None, "functions": 0}),
    ("any-one-tool", [get_weather], "any", {"tool_choice": FORCE_WEATHER, "functions": 1}),
    ("required-one", [get_weather], "required", {"tool_choice": FORCE_WEATHER, "functions": 1}),
    ("any-two-tools", [get_weather, get_time], "any", {"tool_choice": None, "functions": 2}),
    (
        "name",
        [get_weather, get_time],
        "get_weather",
        {"tool_choice": FORCE_WEATHER, "functions": 2},
    ),
    (
        "dict",
        [get_time, get_weather],
        FORCE_WEATHER,
        {"tool_choice": FORCE_WEATHER, "functions": 2},
    ),
]


@pytest.mark.parametrize(
    ("tools", "choice", "expected"), [pytest.param(*t[1:], id=t[0]) for t in TOOL_CHOICES]
)
@pytest.mark.filterwarnings("ignore::qianfan_chat.langchain.ToolChoiceNotForcedWarning")
async def test_tool_choice_sent(
    chat: QianfanChatEndpoint,
    server: LocalServer,
    run: Runner,
    tools: list[Any],
    choice: Any,
    expected: dict[str, Any],
) -> None:
    await run.invoke(chat.bind_tools(tools, tool_choice=choice), "Hello")
    body = last_body(server)
    assert body.get("tool_choice") == expected["tool_choice"]
    assert len(body.get("functions", [])) == expected["functions"]
    assert all(isinstance(v, dict | list | str | int | float | bool) for v in body.values())


def test_tool_choice_checked_at_bind(chat: QianfanChatEndpoint) -> None:
    with pytest.raises(ValueError, match="not among the tools"):
        chat.bind_tools([get_weather], tool_choice="get_time")
    with pytest.warns(ToolChoiceNotForcedWarning, match="2 tools"):
        chat.bind_tools([get_weather, get_time], tool_choice="any")


async def test_tool_call_round_trip(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    """The model's call comes back as a tool call with a stable id; sent back with its result,
    it becomes an assistant ``function_call`` turn and a ``function`` turn; a system message
    rides in the first user turn (v1 refuses ``system`` with ``functions``)."""
    server.add_rule(
        contains="Beijing", function_call={"name": "get_weather", "arguments": {"city": "北京"}}
    )
    llm = chat.bind_tools([get_weather])
    question = [SystemMessage("Answer briefly."), HumanMessage("Weather in Beijing?")]
    first = await run.invoke(llm, question)
    (tc,) = first.tool_calls
    assert (tc["name"], tc["args"]) == ("get_weather", {"city": "北京"})
    assert tc["id"] == f"call_{first.response_metadata['id']}_0"
    chunks = await run.stream(llm, question)
    streamed = chunks[0]
    for chunk in chunks[1:]:
        streamed = streamed + chunk
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [
        ("get_weather", {"city": "北京"})
    ]
    answer = await run.invoke(llm, [*question, first, get_weather.invoke(tc)])
    assert "sunny" in answer.content
    body = last_body(server)
    assert "system" not in body
    assert body["messages"][0] == {
        "role": "user",
        "content": "Answer briefly.\n\nWeather in Beijing?",
    }
    assert body["messages"][1]["function_call"] == {
        "name": "get_weather",
        "arguments": json.dumps({"city": "北京"}, ensure_ascii=False),
    }
    assert body["messages"][2] == {"role": "function", "name": "get_weather", "content": "sunny"}


# -- structured output -------------------------------------------------------------------------


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


JOKE = {"setup": "Why do cats like boxes?", "punchline": "Thinking inside them."}


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
@pytest.mark.parametrize("schema", [Joke, Joke.model_json_schema()], ids=["pydantic", "dict"])
async def test_structured_output(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner, method: str, schema: Any
) -> None:
    server.add_rule(contains="JSON", text=json.dumps(JOKE))  # TEST DATA: json_mode's answer
    server.add_rule(contains="joke", function_call={"name": "Joke", "arguments": JOKE})
    counter = TokenCounter()
    structured = chat.with_structured_output(schema, method=method)  # type: ignore[arg-type]
    prompt = "Tell me a joke. Answer in JSON." if method == "json_mode" else "Tell me a joke."
    result = await run.invoke(structured, prompt, config={"callbacks": [counter]})
    expected = Joke(**JOKE) if schema is Joke else JOKE
    assert result == expected
    streamed = await run.stream(structured, prompt)
    assert streamed[-1] == expected
    body = last_body(server)
    if method == "json_mode":
        assert body["response_format"] == "json_object"
        assert "functions" not in body
    else:
        assert body["tool_choice"] == {"type": "function", "function": {"name": "Joke"}}
    (options,) = counter.options
    assert options["ls_structured_output_format"]["kwargs"]["method"] == method
    assert options["ls_structured_output_format"]["schema"]["title"] == "Joke"


async def test_structured_output_include_raw(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    server.add_rule(contains="joke", function_call={"name": "Joke", "arguments": JOKE})
    server.add_rule(contains="prose", text="Not JSON at all.")
    out = await run.invoke(chat.with_structured_output(Joke, include_raw=True), "a joke")
    assert isinstance(out["raw"], AIMessage)
    assert out["parsed"] == Joke(**JOKE)
    assert out["parsing_error"] is None
    bad = chat.with_structured_output(Joke, method="json_mode", include_raw=True)
    out = await run.invoke(bad, "prose please")
    assert out["parsed"] is None
    assert out["parsing_error"] is not None


def test_structured_output_rejects() -> None:
    chat = QianfanChatEndpoint(api_key=AK, secret_key=SK)
    with pytest.raises(ValueError, match="unknown method"):
        chat.with_structured_output(Joke, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a schema"):
        chat.with_structured_output(None)
    with pytest.raises(ValueError, match="unsupported"):
        chat.with_structured_output(Joke, bogus=1)


# -- credentials, client, construction -----------------------------------------------------------


async def test_missing_credentials_fail_at_first_call(server: LocalServer, run: Runner) -> None:
    chat = QianfanChatEndpoint(api_key="test", base_url=server.base_url)  # no secret key
    with pytest.raises(CredentialsError, match="QIANFAN_AK"):
        await run.invoke(chat, "Hello")
    assert server.requests() == []  # failed before the network


async def test_credentials_from_environment(
    server: LocalServer, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QIANFAN_BASE_URL", server.base_url)
    monkeypatch.setenv("QIANFAN_AK", "env-ak")
    monkeypatch.setenv("QIANFAN_SK", "env-sk")
    chat = QianfanChatEndpoint()
    assert chat.qianfan_ak is not None
    assert chat.qianfan_ak.get_secret_value() == "env-ak"
    assert (await run.invoke(chat, "Hello")).content == GREETING
    assert {r["key"] for r in server.requests()} == {"env-ak"}
    monkeypatch.delenv("QIANFAN_AK")
    monkeypatch.delenv("QIANFAN_SK")
    monkeypatch.setenv("QIANFAN_ACCESS_TOKEN", "ready-token")  # read by the client itself
    assert (await run.invoke(QianfanChatEndpoint(), "Hello")).content == GREETING


def test_secrets_are_masked(chat: QianfanChatEndpoint) -> None:
    assert SK not in repr(chat)
    assert SK not in str(chat.asdict())
    assert SK not in json.dumps(dumpd(chat))


async def test_one_client_one_pool(
    chat: QianfanChatEndpoint, server: LocalServer, run: Runner
) -> None:
    client = chat.client
    await run.invoke(chat, "Hello")
    await run.stream(chat.bind_tools([get_weather]), "Hello")
    await run.batch(chat, ["Hello", "Hi"])
    assert chat.client is client
    assert len([r for r in server.requests() if r["path"].startswith("/oauth")]) <= 1
    other = chat.model_copy(update={"model": "ERNIE-4.0-8K"})  # other settings, own client
    await run.invoke(other, "Hello")
    assert server.requests()[-1]["path"].endswith("/chat/completions_pro")
    assert other.client is not client
    assert chat.client is client


def test_construction(server: LocalServer) -> None:
    # A bad model name fails at construction (pydantic wraps the client's UnknownModelError).
    with pytest.raises(ValueError, match="unknown model 'ERNIE-Bott'; did you mean 'ERNIE-Bot'"):
        QianfanChatEndpoint(model="ERNIE-Bott", api_key=AK, secret_key=SK)
    with pytest.warns(UserWarning, match="transferred to model_kwargs"):
        chat = QianfanChatEndpoint(api_key=AK, secret_key=SK, disable_search=True)
    assert chat.model_kwargs == {"disable_search": True}
    with pytest.warns(UserWarning, match="query_per_second"):
        QianfanChatEndpoint(api_key=AK, secret_key=SK, init_kwargs={"query_per_second": 1})
    aliased = QianfanChatEndpoint(api_key="a", secret_key="b", timeout=7)
    assert aliased.request_timeout == 7
    assert aliased.qianfan_sk is not None
    assert aliased.qianfan_sk.get_secret_value() == "b"
    assert aliased._llm_type == "qianfan-chat"


def test_ls_params() -> None:
    chat = QianfanChatEndpoint(api_key=AK, temperature=0.2, max_tokens=10, stop=["x"])
    assert chat._get_ls_params() == {
        "ls_provider": "qianfan",
        "ls_model_name": "ERNIE-Bot-turbo",  # the client's default model
        "ls_model_type": "chat",
        "ls_temperature": 0.2,
        "ls_max_tokens": 10,
        "ls_stop": ["x"],
    }
    assert chat._get_ls_params(model="ERNIE-4.0-8K")["ls_model_name"] == "ERNIE-4.0-8K"
    service = QianfanChatEndpoint(endpoint="my-service", api_key=AK)
    assert service._get_ls_params()["ls_model_name"] == "my-service"


def test_num_tokens() -> None:
    chat = QianfanChatEndpoint(api_key=AK)
    assert chat.get_num_tokens("你好 hello world") == estimate_tokens("你好 hello world")
    messages = [SystemMessage("简短"), HumanMessage("你好")]
    assert chat.get_num_tokens_from_messages(messages) == estimate_tokens("简短") + 2
    assert chat.get_num_tokens_from_messages(messages, tools=[get_weather]) > 4


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialization_round_trip(chat: QianfanChatEndpoint) -> None:
    """Serialised without secrets; loaded back (langchain-core 1.x needs the class allowed)."""
    data = dumpd(chat)
    assert data["kwargs"]["qianfan_sk"] == {"lc": 1, "type": "secret", "id": ["QIANFAN_SK"]}
    loaded = load(
        data,
        secrets_map={"QIANFAN_AK": AK, "QIANFAN_SK": SK},
        valid_namespaces=["qianfan_chat"],
        allowed_objects=[QianfanChatEndpoint],
    )
    assert isinstance(loaded, QianfanChatEndpoint)
    assert loaded.asdict() == chat.asdict()
    assert loaded.qianfan_sk is not None
    assert loaded.qianfan_sk.get_secret_value() == SK


def test_import_qianfan_chat_does_not_import_langchain() -> None:
    code = (
        "import sys, qianfan_chat; qianfan_chat.ChatCompletion; "
        "print(sorted(m for m in sys.modules if m.startswith('langchain')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert "langchain" not in qianfan_chat.__all__
