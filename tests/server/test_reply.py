"""Reply shape, headers, default scripted replies, custom endpoints, history truncation,
stop strings and usage accounting."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from qianfan_chat._protocol.models_v1 import model_table
from qianfan_chat._protocol.tokens import estimate_tokens

from .conftest import CUSTOM, Api, user

REPLY_KEYS = {
    "id",
    "object",
    "created",
    "result",
    "is_truncated",
    "need_clear_history",
    "finish_reason",
    "usage",
}


def test_reply_shape(api: Api) -> None:
    response = api.chat({"messages": user("你好")})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert set(data) == REPLY_KEYS
    assert re.fullmatch(r"as-[a-z0-9]{10}", data["id"])
    assert data["object"] == "chat.completion"
    assert abs(data["created"] - time.time()) < 3600
    assert data["result"] == "您好！有什么我可以帮助您的吗？"
    assert data["is_truncated"] is False
    assert data["need_clear_history"] is False
    assert data["finish_reason"] == "normal"
    usage = data["usage"]
    assert usage["prompt_tokens"] == estimate_tokens("你好") == 2
    assert usage["completion_tokens"] == estimate_tokens(data["result"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_ids_differ(api: Api) -> None:
    assert len({api.ask("hi")["id"] for _ in range(20)}) == 20


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [({"X-Bce-Request-Id": "my-request-1"}, "my-request-1"), ({}, None)],
    ids=["echoed", "generated"],
)
def test_request_id_header(api: Api, sent: dict[str, str], echoed: str | None) -> None:
    response = api.chat({"messages": user("hi")}, headers=sent)
    request_id = response.headers["x-bce-request-id"]
    if echoed:
        assert request_id == echoed
    else:
        assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    assert api.log()[-1]["request_id"] == request_id


@pytest.mark.parametrize("path", ["chat", "error", "unknown", "oauth"])
def test_every_reply_has_request_id_and_rate_limit_headers(api: Api, path: str) -> None:
    if path == "chat":
        response = api.chat({"messages": user("hi")})
    elif path == "error":
        response = api.chat({"messages": []})
    elif path == "unknown":
        response = api.client.get(api.server.url("/nowhere"))
    else:
        response = api.client.post(api.server.url("/oauth/2.0/token"))
    assert response.headers["x-bce-request-id"]
    assert response.headers["x-ratelimit-limit-requests"] == "300"
    assert response.headers["x-ratelimit-remaining-requests"] == "300"
    assert response.headers["x-ratelimit-limit-tokens"] == "300000"
    assert response.headers["x-ratelimit-remaining-tokens"] == "300000"


# (id, last message, expected result) for the default scripted replies (TEST DATA).
DEFAULTS = [
    ("greeting-zh", "你好", "您好！有什么我可以帮助您的吗？"),
    ("greeting-en-case", "Hello!", "您好！有什么我可以帮助您的吗？"),
    ("greeting-hi", "  hi  ", "您好！有什么我可以帮助您的吗？"),
    ("quoted", "讲个笑话", "您说的是：「讲个笑话」。这是千帆本地测试服务器的脚本回复。"),
    (
        "not-only-greeting",
        "hello world",
        "您说的是：「hello world」。这是千帆本地测试服务器的脚本回复。",
    ),
]


@pytest.mark.parametrize(
    ("text", "result"), [r[1:] for r in DEFAULTS], ids=[r[0] for r in DEFAULTS]
)
def test_default_replies(api: Api, text: str, result: str) -> None:
    assert api.ask(text)["result"] == result


def test_long_input_is_abbreviated(api: Api) -> None:
    result = api.ask("很长的问题" * 100)["result"]
    assert "…" in result
    assert len(result) < 120


def test_default_is_deterministic(api: Api) -> None:
    assert api.ask("同一个问题")["result"] == api.ask("同一个问题")["result"]


def test_json_object_response_format(api: Api) -> None:
    data = api.ask("给我 JSON", response_format="json_object")
    assert isinstance(json.loads(data["result"]), dict)


@pytest.mark.parametrize(
    "suffix",
    ["eb-instant", "completions", "completions_pro", "ernie-speed-128k", "llama_2_7b", CUSTOM],
)
def test_models_and_custom_endpoint_answer(api: Api, suffix: str) -> None:
    assert api.ask("hi", suffix)["result"]


def test_every_table_suffix_is_served(api: Api) -> None:
    for suffix in model_table().by_suffix:
        data = api.chat({"messages": user("hi")}, suffix).json()
        assert "result" in data, (suffix, data)


def test_custom_api_prefix(serve: Any) -> None:
    other = serve(api_prefix="/custom/prefix/")
    assert other.server.chat_url("x").startswith(other.server.base_url + "/custom/prefix/chat/")
    assert other.chat({"messages": user("hi")}).json()["result"]
    default = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant"
    response = other.client.post(
        other.server.url(default), params={"access_token": other.token}, json={}
    )
    assert response.json()["error_code"] == 3


def turns(count: int, size: int) -> list[dict[str, str]]:
    """``count`` user/assistant pairs of ``size`` Han characters each, then a short question."""
    messages: list[dict[str, str]] = []
    for _ in range(count):
        messages.append({"role": "user", "content": "问" * size})
        messages.append({"role": "assistant", "content": "答" * size})
    messages.append({"role": "user", "content": "最后的问题"})
    return messages


@pytest.mark.parametrize(
    ("pairs", "size", "kept_pairs"),
    [(2, 100, 2), (3, 1000, 1), (4, 1000, 1), (2, 748, 2), (2, 749, 1), (2, 1498, 0)],
    ids=["fits", "drop-two-pairs", "drop-three-pairs", "at-limit", "one-over", "all-history"],
)
def test_history_truncated_oldest_first(api: Api, pairs: int, size: int, kept_pairs: int) -> None:
    # Custom endpoints take 3000 input tokens; the question is 5.
    api.server.add_rule(regex=".", text="ok")
    data = api.chat({"messages": turns(pairs, size)}, CUSTOM).json()
    assert data["usage"]["prompt_tokens"] == kept_pairs * 2 * size + 5


def test_usage_counts_system(api: Api) -> None:
    plain = api.ask("问题")["usage"]["prompt_tokens"]
    with_system = api.ask("问题", system="你是助手")["usage"]["prompt_tokens"]
    assert with_system == plain + estimate_tokens("你是助手")


# (id, scripted text, stop strings, expected result, finish_reason)
STOPS = [
    ("cut", "第一句。第二句。", ["第二"], "第一句。", "stop"),
    ("earliest", "abc def ghi", ["ghi", "def"], "abc ", "stop"),
    ("absent", "abc", ["zzz"], "abc", "normal"),
]


@pytest.mark.parametrize(
    ("text", "stop", "result", "finish"), [r[1:] for r in STOPS], ids=[r[0] for r in STOPS]
)
def test_stop_strings(api: Api, text: str, stop: list[str], result: str, finish: str) -> None:
    api.server.add_rule(contains="stop test", text=text)
    data = api.ask("stop test", "llama_2_7b", stop=stop)
    assert (data["result"], data["finish_reason"]) == (result, finish)


def test_unknown_body_keys_are_accepted(api: Api) -> None:
    # The official SDK only warns on unknown keys and sends them; Baidu ignores them.
    assert api.ask("hi", some_future_option=True, enable_trace=False)["result"]
