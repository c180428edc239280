"""The ChatCompletion surface of seed document 001 against the local server, sync and async."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from qianfan_chat import ChatCompletion, Messages, QfResponse, UnlistedParameterWarning
from qianfan_chat.server import LocalServer

from .conftest import AK, SK, Caller, chat_requests, user

GREETING = "您好！有什么我可以帮助您的吗？"
WEATHER_FN = {
    "name": "get_current_weather",
    "description": "获得指定地点的天气",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "省，市名，例如：河北省"},
            "unit": {"type": "string", "enum": ["摄氏度", "华氏度"]},
        },
        "required": ["location"],
    },
}


async def test_do_default_model(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    resp = await caller.do(client, user("你好"))
    assert isinstance(resp, QfResponse)
    assert resp.code == 200
    assert resp["result"] == GREETING
    assert resp.body["object"] == "chat.completion"
    assert resp["usage"]["total_tokens"] == (
        resp["usage"]["prompt_tokens"] + resp["usage"]["completion_tokens"]
    )
    assert resp.request_id
    assert resp.statistic["attempts"] == 1
    (sent,) = chat_requests(server)
    assert sent["path"].endswith("/chat/eb-instant")  # ERNIE-Bot-turbo, the default
    assert json.loads(sent["body"]) == {"messages": user("你好")}


@pytest.mark.parametrize(
    ("kwargs", "suffix"),
    [
        pytest.param({"model": "ERNIE-Bot"}, "/chat/completions", id="ERNIE-Bot"),
        pytest.param({"model": "ERNIE-Bot 4.0"}, "/chat/completions_pro", id="seed-name-4.0"),
        pytest.param({"model": "llama-2-7b-chat"}, "/chat/llama_2_7b", id="case-insensitive"),
        pytest.param({"model": "BLOOMZ-7B"}, "/chat/bloomz_7b1", id="BLOOMZ"),
        pytest.param({"endpoint": "my-endpoint"}, "/chat/my-endpoint", id="custom-endpoint"),
    ],
)
async def test_model_and_endpoint_routing(
    caller: Caller, client: ChatCompletion, server: LocalServer, kwargs: dict[str, str], suffix: str
) -> None:
    resp = await caller.do(client, user("Hello"), **kwargs)
    assert resp["result"] == GREETING
    assert chat_requests(server)[0]["path"] == "/rpc/2.0/ai_custom/v1/wenxinworkshop" + suffix


async def test_model_set_on_client_and_verbatim_path(caller: Caller, server: LocalServer) -> None:
    with ChatCompletion(model="ERNIE-Bot", base_url=server.base_url, ak=AK, sk=SK) as chat:
        await caller.do(chat, user("hi"))
    path = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/my-endpoint"
    with ChatCompletion(api_path=path, base_url=server.base_url, ak=AK, sk=SK) as chat:
        await caller.do(chat, user("hi"))
    paths = [r["path"] for r in chat_requests(server)]
    assert paths == ["/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions", path]


async def test_every_documented_parameter_is_sent(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    params: dict[str, Any] = {
        "temperature": 0.5,
        "top_p": 0.4,
        "penalty_score": 1.2,
        "system": "你是一个助手",
        "stop": ["。"],
        "user_id": "u-1",
        "max_output_tokens": 100,
        "disable_search": True,
    }
    await caller.do(client, user("hi"), model="ERNIE-3.5-8K", **params)
    body = json.loads(chat_requests(server)[0]["body"])
    assert body == {"messages": user("hi"), **params}


async def test_unlisted_parameter_is_sent_with_one_warning(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    key = f"top_k_{caller.mode}"  # a fresh key per path: the warning is once per model and key
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await caller.do(client, user("hi"), model="ERNIE-Bot", **{key: 3})
        await caller.do(client, user("hi"), model="ERNIE-Bot", **{key: 3})
    unlisted = [w for w in caught if issubclass(w.category, UnlistedParameterWarning)]
    assert len(unlisted) == 1
    assert key in str(unlisted[0].message)
    assert all(json.loads(r["body"])[key] == 3 for r in chat_requests(server))


async def test_stream(caller: Caller, client: ChatCompletion, server: LocalServer) -> None:
    text = "第一句话。第二句话！第三句话？最后一句。"
    server.add_rule(contains="讲个故事", text=text)
    chunks = await caller.stream(client, user("讲个故事"))
    assert len(chunks) >= 2
    assert [c["sentence_id"] for c in chunks] == list(range(len(chunks)))
    assert [c["is_end"] for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert "".join(c["result"] for c in chunks) == text
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert json.loads(chat_requests(server)[0]["body"])["stream"] is True


async def test_stream_object_exposes_text_usage_and_closes(
    client: ChatCompletion, server: LocalServer
) -> None:
    server.add_rule(contains="故事", text="一。二。三。四。")
    stream = await client.ado(user("故事"), stream=True)
    async with stream:
        async for _ in stream:
            pass
    assert stream.text == "一。二。三。四。"
    assert stream.usage is not None
    assert stream.usage["total_tokens"] > 0
    assert stream.closed
    with client.do(user("故事"), stream=True) as sync_stream:
        for _ in sync_stream:
            break  # leaving the with block early must close the connection
    assert sync_stream.closed


async def test_batch_keeps_order_and_errors_in_place(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    server.add_rule(contains="boom", error_code=336003, error_msg="scripted failure")
    prompts = [user(f"问题 {i}") for i in range(6)] + [user("boom")] + [user("最后")]
    results = await caller.batch(client, prompts, worker_num=3)
    assert len(results) == len(prompts)
    for i, result in enumerate(results[:6]):
        assert isinstance(result, QfResponse)
        assert f"问题 {i}" in result["result"]
    assert getattr(results[6], "error_code", None) == 336003
    assert isinstance(results[7], QfResponse)
    sent = sorted(json.loads(r["body"])["messages"][0]["content"] for r in chat_requests(server))
    assert sent == sorted(p[0]["content"] for p in prompts)  # each prompt sent exactly once


async def test_messages_multi_turn(caller: Caller, client: ChatCompletion) -> None:
    msgs = Messages()
    msgs.append("你好")
    resp = await caller.do(client, msgs)
    msgs.append(resp)
    msgs.append("介绍一下你自己")
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    resp = await caller.do(client, msgs)
    assert "介绍一下你自己" in resp["result"]


async def test_function_calling_round_trip(
    caller: Caller, client: ChatCompletion, server: LocalServer
) -> None:
    msgs = Messages()
    msgs.append("请问北京的 get_current_weather 怎么样？")
    resp = await caller.do(client, msgs, model="ERNIE-Bot", functions=[WEATHER_FN])
    assert resp["finish_reason"] == "function_call"
    call = resp["function_call"]
    assert call["name"] == "get_current_weather"
    assert "location" in json.loads(call["arguments"])
    msgs.append(resp)
    msgs.append(json.dumps({"temperature": 25, "weather": "晴"}, ensure_ascii=False))
    assert msgs[-1] == {
        "role": "function",
        "name": "get_current_weather",
        "content": '{"temperature": 25, "weather": "晴"}',
    }
    resp = await caller.do(client, msgs, model="ERNIE-Bot", functions=[WEATHER_FN])
    assert "25" in resp["result"]
    sent = json.loads(chat_requests(server)[-1]["body"])
    assert sent["messages"][1]["function_call"]["name"] == "get_current_weather"


async def test_tool_choice_forces_a_function(caller: Caller, client: ChatCompletion) -> None:
    resp = await caller.do(
        client,
        user("随便聊聊"),
        model="ERNIE-Bot",
        functions=[WEATHER_FN],
        tool_choice={"type": "function", "function": {"name": "get_current_weather"}},
    )
    assert resp["function_call"]["name"] == "get_current_weather"
