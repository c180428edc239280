"""The default engine's function calls (no rule scripted): a question that plainly asks for a
function gets a call to it, on the v1 and the v2 route, in English and in Chinese; anything
else gets text. Every reply is TEST DATA (the rules are in ``server/engine.py``'s docstring)."""

from __future__ import annotations

import doctest
import json
from typing import Any

import pytest

import qianfan_chat
from qianfan_chat.server import LocalServer, engine

from .conftest import V2, Api
from .schema_check import errors

WEATHER = {
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {
                "type": "string",
                "description": "The city and state, e.g. San Francisco, CA",
            },
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}
FLIGHTS = {
    "name": "search_flights",
    "description": "Search for flights between two airports",
    "parameters": {
        "type": "object",
        "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}},
        "required": ["origin", "destination"],
    },
}
ZH_WEATHER = {
    "name": "query_weather",
    "description": "获取指定城市的天气预报",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "城市名称"}},
        "required": ["city"],
    },
}
STOCK = {
    "name": "stock_price",
    "description": "查询一只股票的最新价格",
    "parameters": {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "股票代码"}},
        "required": ["code"],
    },
}

# (id, last user message, functions offered, the function called or None for text)
ASKS: list[tuple[str, str, list[dict[str, Any]], str | None]] = [
    ("by-name", "Please call get_current_weather.", [FLIGHTS, WEATHER], "get_current_weather"),
    ("by-name-spaced", "what would search flights say?", [WEATHER, FLIGHTS], "search_flights"),
    ("by-name-in-chinese", "请调用get_current_weather查一下", [WEATHER], "get_current_weather"),
    (
        "by-description",
        "What's the weather in Beijing today?",
        [WEATHER],
        "get_current_weather",
    ),
    (
        "by-description-among-two",
        "Are there cheap flights from Paris to Rome?",
        [WEATHER, FLIGHTS],
        "search_flights",
    ),
    ("unrelated", "What is the capital of France?", [WEATHER, FLIGHTS], None),
    ("unrelated-request", "Tell me a joke.", [WEATHER], None),
    (
        "only-stop-words-shared",  # the, current, in, a, given: no content word in common
        "What is the current one in a given list?",
        [WEATHER],
        None,
    ),
    ("chinese-by-description", "北京今天天气怎么样？", [STOCK, ZH_WEATHER], "query_weather"),
    ("chinese-among-two", "帮我看看这只股票的价格", [ZH_WEATHER, STOCK], "stock_price"),
    ("chinese-unrelated", "给我讲个笑话", [ZH_WEATHER, STOCK], None),
    ("chinese-only-stop-words-shared", "今天是什么日子？", [ZH_WEATHER], None),
    ("chinese-question-english-description", "北京今天天气怎么样？", [WEATHER], None),
]
ASK_IDS = [row[0] for row in ASKS]
ASK_ROWS = [row[1:] for row in ASKS]


def v1_call(data: dict[str, Any]) -> dict[str, Any] | None:
    """The v1 reply's function call (checking the reply's shape), or None for text."""
    if "function_call" not in data:
        assert data["finish_reason"] == "normal"
        assert data["result"]
        return None
    assert data["finish_reason"] == "function_call"
    assert data["result"] == ""
    call: dict[str, Any] = data["function_call"]
    return call


def v2_call(data: dict[str, Any]) -> dict[str, Any] | None:
    """The v2 reply's (only) tool call's function, or None for text."""
    choice = data["choices"][0]
    calls = choice["message"].get("tool_calls")
    if not calls:
        assert choice["finish_reason"] == "stop"
        assert choice["message"]["content"]
        return None
    assert choice["finish_reason"] == "tool_calls"
    (call,) = calls
    function: dict[str, Any] = call["function"]
    return function


def tools(functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": f} for f in functions]


def check_arguments(call: dict[str, Any], functions: list[dict[str, Any]]) -> dict[str, Any]:
    (schema,) = [f["parameters"] for f in functions if f["name"] == call["name"]]
    arguments: dict[str, Any] = json.loads(call["arguments"])
    assert errors(arguments, schema) == []
    return arguments


@pytest.mark.parametrize(("text", "functions", "expected"), ASK_ROWS, ids=ASK_IDS)
def test_v1_default_calls_what_the_question_asks_for(
    api: Api, text: str, functions: list[dict[str, Any]], expected: str | None
) -> None:
    call = v1_call(api.ask(text, "completions", functions=functions))
    assert (call and call["name"]) == expected
    if call is not None:
        assert call["thoughts"]
        check_arguments(call, functions)


@pytest.mark.parametrize(("text", "functions", "expected"), ASK_ROWS, ids=ASK_IDS)
def test_v2_default_calls_what_the_question_asks_for(
    v2: V2, text: str, functions: list[dict[str, Any]], expected: str | None
) -> None:
    call = v2_call(v2.ask(text, tools=tools(functions)))
    assert (call and call["name"]) == expected
    if call is not None:
        check_arguments(call, functions)


# (id, question, function, the arguments expected): a place named in the question fills a
# string property that takes a place; nothing else changes.
PLACES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("english-city", "What's the weather in Beijing today?", WEATHER, {"location": "Beijing"}),
    (
        "english-city-and-state",
        "How is the weather in San Francisco, CA?",
        WEATHER,
        {"location": "San Francisco, CA"},
    ),
    ("no-place-named", "what's the weather like?", WEATHER, {"location": "示例"}),
    ("chinese-city", "上海明天的天气预报", ZH_WEATHER, {"city": "上海"}),
    ("not-a-place-property", "股票价格 in Shenzhen", STOCK, {"code": "示例"}),
]


@pytest.mark.parametrize(
    ("text", "function", "arguments"), [r[1:] for r in PLACES], ids=[r[0] for r in PLACES]
)
def test_arguments_take_the_place_the_question_names(
    api: Api, v2: V2, text: str, function: dict[str, Any], arguments: dict[str, Any]
) -> None:
    v1 = v1_call(api.ask(text, "completions", functions=[function]))
    v2_ = v2_call(v2.ask(text, tools=tools([function])))
    for call in (v1, v2_):
        assert call is not None
        assert check_arguments(call, [function]) == arguments


QUESTION = "What's the weather in Beijing today?"


def test_v1_tool_choice_none_never_calls(api: Api) -> None:
    """v1 has no ``tool_choice: none`` of its own; the client leaves the functions out, and a
    body that sends ``none`` anyway is answered with text."""
    data = api.ask(QUESTION, "completions", functions=[WEATHER], tool_choice="none")
    assert v1_call(data) is None


def test_v2_tool_choice_none_never_calls(v2: V2) -> None:
    assert v2_call(v2.ask(QUESTION, tools=tools([WEATHER]), tool_choice="none")) is None


def test_v1_forced_choice_is_unchanged(api: Api) -> None:
    """A forced function wins over the one the question asks for, with schema examples."""
    choice = {"type": "function", "function": {"name": "search_flights"}}
    data = api.ask(QUESTION, "completions", functions=[WEATHER, FLIGHTS], tool_choice=choice)
    call = v1_call(data)
    assert call is not None
    assert call["name"] == "search_flights"
    assert check_arguments(call, [FLIGHTS]) == {"origin": "示例", "destination": "示例"}


def test_v2_forced_and_required_choices_are_unchanged(v2: V2) -> None:
    offered = tools([WEATHER, FLIGHTS])
    choice = {"type": "function", "function": {"name": "search_flights"}}
    forced = v2_call(v2.ask(QUESTION, tools=offered, tool_choice=choice))
    assert forced is not None
    assert forced["name"] == "search_flights"
    assert json.loads(forced["arguments"]) == {"origin": "示例", "destination": "示例"}
    required = v2_call(v2.ask("Tell me a joke.", tools=offered, tool_choice="required"))
    assert required is not None
    assert required["name"] == "get_current_weather"  # nothing asked: the first offered


def test_only_the_last_user_message_asks(api: Api, v2: V2) -> None:
    """A function result after the call is answered with text, even when it shares words."""
    messages = [
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": "",
            "function_call": {"name": "get_current_weather", "arguments": "{}"},
        },
        {"role": "function", "name": "get_current_weather", "content": "weather: sunny"},
    ]
    data = api.chat({"messages": messages, "functions": [WEATHER]}, "completions").json()
    assert v1_call(data) is None
    v2_messages = [
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_current_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "weather: sunny"},
    ]
    body = {"model": "ernie-3.5-8k", "messages": v2_messages, "tools": tools([WEATHER])}
    response = v2.post(body)
    assert response.status_code == 200
    assert v2_call(response.json()) is None


def test_streams_carry_the_call(api: Api, v2: V2) -> None:
    asked = {"messages": [{"role": "user", "content": QUESTION}], "functions": [WEATHER]}
    events = api.stream(asked, "completions")
    assert events[-1]["function_call"]["name"] == "get_current_weather"
    assert json.loads(events[-1]["function_call"]["arguments"]) == {"location": "Beijing"}
    body = {
        "model": "ernie-3.5-8k",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": tools([WEATHER]),
    }
    chunks = v2.stream(body)
    names = [
        call["function"].get("name")
        for chunk in chunks
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls") or ()
    ]
    assert "get_current_weather" in names
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_engine_docstring_examples_hold() -> None:
    """The examples in the engine's docstrings are the rule as documented: they must run."""
    assert doctest.testmod(engine).failed == 0


# -- Baidu's SDK call shape, through our client -----------------------------------------------

SDK_MESSAGES = [{"role": "user", "content": "What's the weather in Beijing today?"}]


@pytest.fixture
def sdk_env(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and the address from the environment, as an SDK program has them."""
    for name in ("ACCESS_TOKEN", "ACCESS_KEY", "SECRET_KEY", "API_KEY", "BEARER_TOKEN"):
        monkeypatch.delenv(f"QIANFAN_{name}", raising=False)
    monkeypatch.setenv("QIANFAN_AK", "sdk-ak")
    monkeypatch.setenv("QIANFAN_SK", "sdk-sk")
    monkeypatch.setenv("QIANFAN_BASE_URL", server.base_url)


@pytest.mark.usefixtures("sdk_env")
def test_sdk_style_function_call() -> None:
    """``qianfan.ChatCompletion().do(messages=..., functions=...)`` as the SDK docs write it
    gets the call a model would make (Baidu's SDK against this server used to get text)."""
    chat = qianfan_chat.ChatCompletion(model="ERNIE-3.5-8K")
    resp = chat.do(messages=SDK_MESSAGES, functions=[WEATHER])
    assert resp["function_call"]["name"] == "get_current_weather"
    assert json.loads(resp["function_call"]["arguments"])["location"] == "Beijing"


@pytest.mark.usefixtures("sdk_env")
async def test_sdk_style_function_call_async() -> None:
    chat = qianfan_chat.ChatCompletion(model="ERNIE-3.5-8K")
    resp = await chat.ado(messages=SDK_MESSAGES, functions=[WEATHER])
    assert resp["function_call"]["name"] == "get_current_weather"
