"""Web search on the v2 route (server/v2_search.py): scripted ``search_results`` (TEST DATA,
under example.com), ``^[1]^`` / ``^[1][2]^`` markers in the text, the "searching" status chunk
when ``enable_status`` asks, the older option forms, and bad options refused with 400. Read back
with the protocol core's own readers (``_protocol.search``), as the client reads them."""

from __future__ import annotations

from typing import Any

import pytest

from qianfan_chat._protocol import search as facts

from .conftest import V2, V2_MODEL, user

QUESTION = "今天北京有什么新闻？"


def body(**fields: Any) -> dict[str, Any]:
    return {"model": V2_MODEL, "messages": user(QUESTION), **fields}


# (id, body fields, results expected, markers expected)
FORMS: list[tuple[str, dict[str, Any], int, bool]] = [
    ("enable", {"web_search": {"enable": True}}, 10, True),
    ("reference_number", {"web_search": {"enable": True, "reference_number": 3}}, 3, True),
    (
        "reference-clamped-to-search",
        {"web_search": {"enable": True, "search_number": 2, "reference_number": 5}},
        2,
        True,
    ),
    ("legacy-reference_num", {"web_search": {"enable": True, "reference_num": 4}}, 4, True),
    ("legacy-search_num", {"web_search": {"enable": True, "search_num": 1}}, 1, True),
    ("web_search-true", {"web_search": True}, 10, True),
    ("top-level-enable_search", {"enable_search": True}, 10, True),
    (
        "top-level-flags",
        {"enable_search": True, "enable_trace": False, "enable_citation": True},
        0,
        True,
    ),
    ("trace-off", {"web_search": {"enable": True, "enable_trace": False}}, 0, True),
    ("citation-off", {"web_search": {"enable": True, "enable_citation": False}}, 10, False),
    ("mode-required", {"web_search": {"enable": True, "search_mode": "required"}}, 10, True),
    ("enable-false", {"web_search": {"enable": False, "enable_trace": True}}, 0, False),
    ("not-asked", {}, 0, False),
    ("web_search-false", {"web_search": False}, 0, False),
]


@pytest.mark.parametrize(
    ("fields", "count", "cited"), [r[1:] for r in FORMS], ids=[r[0] for r in FORMS]
)
def test_search_forms(v2: V2, fields: dict[str, Any], count: int, cited: bool) -> None:
    data = v2.ask(QUESTION, **fields)
    results = facts.results_of(data) or []
    assert len(results) == count
    assert [r["index"] for r in results] == list(range(1, count + 1))
    for r in results:
        assert set(r) == {"index", "url", "title", "datasource_id"}
        assert r["url"].startswith("https://example.com/qianfan-local-search/")
        assert "测试数据" in r["title"]
    text = data["choices"][0]["message"]["content"]
    found = facts.markers(text)
    if cited:
        assert [m.indices for m in found] == [(1,), (1, 2) if count != 1 else (1,)]
        assert text.startswith(f"您说的是：「{QUESTION}」。^[1]^")
    else:
        assert found == []
    tokens = data["usage"]["prompt_tokens_details"]["search_tokens"]
    assert (tokens > 0) == (count > 0)


def test_a_rule_that_cites_itself_is_kept(v2: V2) -> None:
    v2.server.add_rule(contains="新闻", text="北京今天晴^[2]^。")
    data = v2.ask(QUESTION, web_search={"enable": True})
    assert data["choices"][0]["message"]["content"] == "北京今天晴^[2]^。"
    assert len(data["search_results"]) == 10


def test_scripted_chunks_get_the_end_marker(v2: V2) -> None:
    v2.server.add_rule(contains="新闻", chunks=["第一段。", "第二段。"])
    chunks = v2.stream(body(web_search={"enable": True, "reference_number": 1}))
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert [p for p in pieces if p] == ["第一段。", "第二段。^[1]^"]


def _stream(v2: V2, **options: Any) -> list[dict[str, Any]]:
    return v2.stream(body(web_search={"enable": True, "reference_number": 2, **options}))


def test_stream_status_chunk_then_results_on_the_first_content_chunk(v2: V2) -> None:
    whole = v2.ask(QUESTION, web_search={"enable": True, "reference_number": 2})
    chunks = _stream(v2, enable_status=True)
    first = chunks[0]
    assert facts.status_of(first) == "正在搜索"
    assert first["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "正在搜索",
        "delta_tag": "search_status",
    }
    carrying = [i for i, c in enumerate(chunks) if facts.results_of(c)]
    assert len(carrying) == 1
    assert chunks[carrying[0]]["choices"][0]["delta"]["content"]
    assert facts.results_of(chunks[carrying[0]]) == whole["search_results"]
    answer = "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks[1:]
        if c["choices"] and facts.status_of(c) is None
    )
    assert answer == whole["choices"][0]["message"]["content"]


def test_stream_without_status_starts_with_the_role_chunk(v2: V2) -> None:
    chunks = _stream(v2)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(facts.status_of(c) is None for c in chunks)
    assert sum(1 for c in chunks if facts.results_of(c)) == 1


def test_usage_chunk_counts_search_tokens(v2: V2) -> None:
    chunks = v2.stream(body(web_search={"enable": True}, stream_options={"include_usage": True}))
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens_details"]["search_tokens"] > 0


def test_tool_calls_are_not_cited(v2: V2) -> None:
    v2.server.add_rule(contains="新闻", tool_calls=[{"name": "news", "arguments": {}}])
    tool = {"type": "function", "function": {"name": "news", "parameters": {"type": "object"}}}
    data = v2.ask(QUESTION, tools=[tool], web_search={"enable": True})
    assert data["choices"][0]["message"]["content"] == ""
    assert data["choices"][0]["finish_reason"] == "tool_calls"


# (id, web_search value or body fields, field named in the message)
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("not-an-object", {"web_search": "yes"}, "web_search"),
    ("enable-not-bool", {"web_search": {"enable": "true"}}, "web_search.enable"),
    ("search_number-zero", {"web_search": {"enable": True, "search_number": 0}}, "search_number"),
    ("search_number-29", {"web_search": {"enable": True, "search_number": 29}}, "search_number"),
    ("reference_num-bool", {"web_search": {"enable": True, "reference_num": True}}, "reference"),
    ("search_mode", {"web_search": {"enable": True, "search_mode": "always"}}, "search_mode"),
]


@pytest.mark.parametrize(("fields", "field"), [r[1:] for r in BAD], ids=[r[0] for r in BAD])
def test_bad_options(v2: V2, fields: dict[str, Any], field: str) -> None:
    status, error = v2.error(body(**fields))
    assert (status, error["code"]) == (400, "invalid_argument")
    assert field in error["message"]
