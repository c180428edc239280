"""v2 streams: chunk framing, the role on the first delta only, content pieces, tool-call
argument deltas that reassemble by index, usage options (``include_usage``, Baidu's
``chunk_include_usage``), reasoning deltas, ``[DONE]``, and errors found before the stream."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import V2, V2_MODEL, sse_events, user

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
LONG = "第一句话比较长，用来检查分块是否正确。第二句也不短，它应该单独成为一个分块！" * 2


def body(text: str, model: str = V2_MODEL, **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": user(text), **fields}


def collect(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Accumulate a stream as an OpenAI client does, checking each chunk's framing."""
    first = chunks[0]
    text, reasoning, finishes = [], [], []
    calls: dict[int, dict[str, Any]] = {}
    for index, chunk in enumerate(chunks):
        assert chunk["object"] == "chat.completion.chunk"
        assert (chunk["id"], chunk["created"], chunk["model"]) == (
            first["id"],
            first["created"],
            first["model"],
        )
        assert "usage" in chunk
        if not chunk["choices"]:
            continue
        (picked,) = chunk["choices"]
        assert (picked["index"], picked["flag"], picked["ban_round"]) == (0, 0, -1)
        delta = picked["delta"]
        assert ("role" in delta) is (index == 0)
        text.append(delta.get("content") or "")
        reasoning.append(delta.get("reasoning_content") or "")
        finishes.append(picked["finish_reason"])
        for call in delta.get("tool_calls") or ():
            slot = calls.setdefault(call["index"], {"pieces": []})
            if "id" in call:
                assert "id" not in slot
                slot.update(id=call["id"], type=call["type"], name=call["function"]["name"])
            slot["pieces"].append(call["function"]["arguments"])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(f is None for f in finishes[:-1])
    return {
        "text": "".join(text),
        "reasoning": "".join(reasoning),
        "calls": [calls[i] for i in sorted(calls)],
        "finish": finishes[-1],
        "content_pieces": [t for t in text if t],
    }


def test_text_stream_matches_the_whole_reply(v2: V2) -> None:
    whole = v2.post(body(LONG)).json()
    chunks = v2.stream(body(LONG))
    got = collect(chunks)
    assert got["text"] == whole["choices"][0]["message"]["content"]
    assert len(got["content_pieces"]) >= 4
    assert all(len(p) <= 32 for p in got["content_pieces"])
    assert got["finish"] == "stop"
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert all(c["usage"] is None for c in chunks)
    entry = v2.log()[-1]
    assert (entry["stream"], entry["status"], entry["error_code"]) == (True, 200, None)


def test_scripted_chunks_are_the_pieces(v2: V2) -> None:
    v2.server.add_rule(contains="分块", chunks=["甲", "乙乙", "丙丙丙"])
    assert collect(v2.stream(body("分块")))["content_pieces"] == ["甲", "乙乙", "丙丙丙"]


def test_tool_call_deltas_reassemble(v2: V2) -> None:
    scripted = [
        {"name": "get_weather", "arguments": {"city": "北京", "unit": "celsius"}},
        {"name": "get_time", "arguments": {}},
    ]
    v2.server.add_rule(contains="天气", tool_calls=scripted)
    got = collect(v2.stream(body("天气", tools=TOOLS)))
    assert got["text"] == ""
    assert got["finish"] == "tool_calls"
    assert [c["name"] for c in got["calls"]] == ["get_weather", "get_time"]
    for call, expected in zip(got["calls"], scripted, strict=True):
        assert call["id"].startswith("call_")
        assert call["type"] == "function"
        assert call["pieces"][0] == ""  # The call's first delta names it ...
        assert len([p for p in call["pieces"] if p]) >= 2  # ... its arguments follow in pieces.
        assert json.loads("".join(call["pieces"])) == expected["arguments"]
    assert got["calls"][0]["id"] != got["calls"][1]["id"]


# (id, stream_options, final usage chunk, running usage)
USAGE_OPTIONS: list[tuple[str, dict[str, Any] | None, bool, bool]] = [
    ("none", None, False, False),
    ("include-usage", {"include_usage": True}, True, False),
    ("include-usage-false", {"include_usage": False}, False, False),
    ("chunk-include-usage", {"chunk_include_usage": True}, False, True),
    ("both", {"include_usage": True, "chunk_include_usage": True}, True, True),
]


@pytest.mark.parametrize(
    ("options", "final", "running"),
    [r[1:] for r in USAGE_OPTIONS],
    ids=[r[0] for r in USAGE_OPTIONS],
)
def test_usage_options(v2: V2, options: dict[str, Any] | None, final: bool, running: bool) -> None:
    usage = v2.post(body(LONG)).json()["usage"]
    fields = {"stream_options": options} if options is not None else {}
    chunks = v2.stream(body(LONG, **fields))
    collect(chunks)
    if final:
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"] == usage
        chunks = chunks[:-1]
    assert all(c["choices"] for c in chunks)
    if not running:
        assert all(c["usage"] is None for c in chunks)
        return
    seen = [c["usage"] for c in chunks]
    assert all(u["prompt_tokens"] == usage["prompt_tokens"] for u in seen)
    spent = [u["completion_tokens"] for u in seen]
    assert spent == sorted(spent)
    assert spent[0] == 0
    assert seen[-1] == usage


def test_reasoning_stream(v2: V2) -> None:
    whole = v2.post(body("你好", model="deepseek-r1")).json()["choices"][0]["message"]
    chunks = v2.stream(body("你好", model="deepseek-r1"))
    got = collect(chunks)
    assert (got["reasoning"], got["text"]) == (whole["reasoning_content"], whole["content"])
    kinds = [next(iter(c["choices"][0]["delta"]), None) for c in chunks[1:-1]]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning_content")  # Reasoning first.


def test_stop_in_a_stream(v2: V2) -> None:
    v2.server.add_rule(chunks=["一二", "三四", "五六"])
    got = collect(v2.stream(body("x", stop=["四"])))
    assert (got["text"], got["finish"]) == ("一二三", "stop")


# (id, body, rule or None, status, code)
EARLY_ERRORS: list[tuple[str, dict[str, Any], dict[str, Any] | None, int, str]] = [
    ("unknown-model", body("hi", model="gpt-4o"), None, 401, "invalid_model"),
    ("bad-body", body("hi", temperature=0), None, 400, "invalid_argument"),
    (
        "rule-error",
        body("boom"),
        {"contains": "boom", "error_code": 336501},
        429,
        "rpm_rate_limit_exceeded",
    ),
]


@pytest.mark.parametrize(
    ("data", "rule", "status", "code"),
    [r[1:] for r in EARLY_ERRORS],
    ids=[r[0] for r in EARLY_ERRORS],
)
def test_errors_before_the_stream_are_json(
    v2: V2, data: dict[str, Any], rule: dict[str, Any] | None, status: int, code: str
) -> None:
    if rule is not None:
        v2.server.add_rule(rule)
    response = v2.post({**data, "stream": True})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def test_stream_interval_and_end_options_keep_the_shape(serve_v2: Any) -> None:
    slow = serve_v2(stream_interval=0.001, stream_chunk_chars=8, stream_end_empty=True)
    got = collect(slow.stream(body(LONG)))
    assert all(len(p) <= 8 for p in got["content_pieces"])
    assert got["finish"] == "stop"


async def test_stream_async(v2: V2) -> None:
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream(
            "POST",
            v2.server.v2_chat_url,
            headers=v2.headers(),
            json=body(LONG, stream=True, stream_options={"include_usage": True}),
        ) as response,
    ):
        raw = await response.aread()
    assert raw.endswith(b"data: [DONE]\n\n")
    chunks = sse_events(raw[: -len(b"data: [DONE]\n\n")])
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert collect(chunks[:-1])["text"].startswith("您说的是")
