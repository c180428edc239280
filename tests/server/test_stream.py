"""Streaming replies: SSE framing, sentence ids, is_end, usage on the last event only,
several events per text, function calls, scripted chunks, and stream options."""

from __future__ import annotations

from typing import Any

import pytest

from qianfan_chat._protocol.tokens import estimate_tokens

from .conftest import Api, user

ZERO = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
CHUNK_KEYS = {
    "id",
    "object",
    "created",
    "sentence_id",
    "is_end",
    "is_truncated",
    "result",
    "need_clear_history",
    "finish_reason",
    "usage",
}

# (id, scripted text, minimum number of events)
TEXTS = [
    ("chinese-sentences", "第一句话。第二句话！第三句话？最后一句。", 4),
    ("english-sentences", "One. Two! Three? Four.", 4),
    ("newlines", "line one\nline two\nline three", 3),
    ("one-long-sentence", "字" * 100, 4),
    ("two-sentences", "你好。再见。", 2),
]


@pytest.mark.parametrize(("text", "least"), [r[1:] for r in TEXTS], ids=[r[0] for r in TEXTS])
def test_stream_events(api: Api, text: str, least: int) -> None:
    api.server.add_rule(contains="讲", text=text)
    events = api.stream({"messages": user("讲个故事")})
    assert len(events) >= least
    assert all(set(e) == CHUNK_KEYS for e in events)
    assert [e["sentence_id"] for e in events] == list(range(len(events)))
    assert [e["is_end"] for e in events] == [False] * (len(events) - 1) + [True]
    assert "".join(e["result"] for e in events) == text
    assert all(len(e["result"]) <= 32 for e in events)
    assert len({e["id"] for e in events}) == 1
    assert all(e["object"] == "chat.completion" for e in events)
    assert all(e["finish_reason"] == "normal" for e in events)
    assert all(e["usage"] == ZERO for e in events[:-1])
    usage = events[-1]["usage"]
    assert usage["prompt_tokens"] == estimate_tokens("讲个故事")
    assert usage["completion_tokens"] == estimate_tokens(text)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    entry = api.log()[-1]
    assert entry["stream"] is True
    assert entry["status"] == 200


def test_default_reply_streams_in_several_events(api: Api) -> None:
    events = api.stream({"messages": user("讲个笑话")})
    assert len(events) >= 2
    assert "".join(e["result"] for e in events) == api.ask("讲个笑话")["result"]


def test_scripted_chunks_are_the_events(api: Api) -> None:
    api.server.add_rule(contains="chunks", chunks=["A", "BC", "", "D"])
    events = api.stream({"messages": user("chunks please")})
    assert [e["result"] for e in events] == ["A", "BC", "", "D"]
    assert api.ask("chunks please")["result"] == "ABCD"


def test_function_call_streams_as_one_event(api: Api) -> None:
    fn = {"name": "get_time", "description": "now", "parameters": {"type": "object"}}
    events = api.stream({"messages": user("call get_time"), "functions": [fn]})
    assert len(events) == 1
    (event,) = events
    assert event["is_end"] is True
    assert event["result"] == ""
    assert event["finish_reason"] == "function_call"
    assert event["function_call"]["name"] == "get_time"
    assert event["usage"]["completion_tokens"] > 0


def test_stop_string_in_stream(api: Api) -> None:
    api.server.add_rule(contains="s", text="一。二。三。")
    events = api.stream({"messages": user("s"), "stop": ["三"]})
    assert "".join(e["result"] for e in events) == "一。二。"
    assert events[-1]["finish_reason"] == "stop"


def test_rule_errors_in_stream_mode_are_plain_json(api: Api) -> None:
    api.server.add_rule(contains="fail", error_code=336100)
    response = api.chat({"messages": user("fail"), "stream": True})
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "error_code": 336100,
        "error_msg": "Server high load, please try again later",
    }


@pytest.mark.parametrize(
    ("options", "check"),
    [
        ({"stream_end_empty": True}, "empty-end"),
        ({"stream_chunk_chars": 5}, "short-chunks"),
        ({"stream_chunk_chars": 0}, "sentences-only"),
        ({"stream_interval": 0.01}, "interval"),
    ],
    ids=["empty-end", "short-chunks", "sentences-only", "interval"],
)
def test_stream_options(serve: Any, options: dict[str, Any], check: str) -> None:
    text = "第一句比较长的一句话。第二句。"
    api = serve(**options)
    api.server.add_rule(contains="x", text=text)
    events = api.stream({"messages": user("x")})
    results = [e["result"] for e in events]
    assert "".join(results) == text
    if check == "empty-end":
        assert results[-1] == ""
        assert events[-1]["is_end"] is True
        assert events[-1]["usage"]["completion_tokens"] == estimate_tokens(text)
    elif check == "short-chunks":
        assert all(len(r) <= 5 for r in results)
    elif check == "sentences-only":
        assert results == ["第一句比较长的一句话。", "第二句。"]
    else:
        assert len(events) == 2
