"""Issue 11 in the LangChain model, over loopback against the local server's v2 route, each row
on the sync and async paths (and streamed): image blocks as content parts, the ``thinking``
field, reasoning as standard ``reasoning`` blocks, web-search results in ``response_metadata``
and citations as ``citation`` annotations, the profile from the capability table, and
reasoning sent back only inside one tool-call loop of an interleaved-thinking model."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from functools import reduce
from operator import add
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from qianfan_chat.langchain import QianfanChatEndpoint, convert_messages_v2
from qianfan_chat.server import LocalServer

from .conftest import Runner

API_KEY = "bce-v3/ALTAK-lcext000000000000000/0123456789abcdef0123456789abcdef01234567"
V2_PATH = "/v2/chat/completions"
PNG = (Path(__file__).parent / "data" / "vision-fixture.png").read_bytes()
PNG64 = base64.b64encode(PNG).decode()
SEARCH = {"enable": True, "enable_trace": True, "enable_citation": True}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(server: LocalServer) -> None:
    server.reset()


def model(server: LocalServer, name: str, **fields: Any) -> QianfanChatEndpoint:
    return QianfanChatEndpoint(model=name, base_url=server.base_url, api_key=API_KEY, **fields)


def sent(server: LocalServer) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in server.requests() if r["path"] == V2_PATH]


def whole(chunks: list[Any]) -> Any:
    return reduce(add, chunks)


IMAGE_BLOCKS = [
    pytest.param({"type": "image", "base64": PNG64, "mime_type": "image/png"}, id="base64"),
    pytest.param({"type": "image", "url": "https://x.test/cat.png"}, id="url"),
    pytest.param(
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG64}"}},
        id="image_url",
    ),
    pytest.param(
        {"type": "image", "source_type": "base64", "data": PNG64, "mime_type": "image/png"},
        id="source-type",
    ),
]


@pytest.mark.parametrize("block", IMAGE_BLOCKS)
async def test_image_blocks_become_parts(
    run: Runner, server: LocalServer, block: dict[str, Any]
) -> None:
    llm = model(server, "ernie-4.5-turbo-vl")
    message = HumanMessage([{"type": "text", "text": "这是什么"}, block])
    reply = await run.invoke(llm, [message])
    (body,) = sent(server)
    content = body["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "这是什么"}
    assert content[1]["type"] == "image_url"
    url = content[1]["image_url"]["url"]
    assert url.startswith(("data:image/png;base64,", "https://"))
    assert reply.text  # the server's description (server side of issue 11)


def test_text_only_blocks_stay_a_string() -> None:
    (msg,) = convert_messages_v2([HumanMessage([{"type": "text", "text": "hi"}])])
    assert msg["content"] == "hi"


@pytest.mark.parametrize("mode", ["invoke", "stream"])
async def test_thinking_field_and_reasoning_blocks(
    run: Runner, server: LocalServer, mode: str
) -> None:
    llm = model(server, "qwen3-8b", thinking=True)
    if mode == "invoke":
        reply = await run.invoke(llm, "hi")
    else:
        reply = whole(await run.stream(llm, "hi"))
    assert sent(server)[0]["enable_thinking"] is True
    reasoning = reply.additional_kwargs["reasoning_content"]
    assert reasoning
    blocks = reply.content_blocks
    assert blocks[0] == {"type": "reasoning", "reasoning": reasoning}
    assert blocks[1]["type"] == "text"
    assert blocks[1]["text"] == reply.text
    assert reasoning not in reply.text


async def test_thinking_per_call_and_off(run: Runner, server: LocalServer) -> None:
    llm = model(server, "deepseek-v3.2", thinking=True)
    await run.invoke(llm, "hi", thinking=False)
    assert sent(server)[0]["thinking"] == {"type": "disabled"}


@pytest.mark.parametrize("mode", ["invoke", "stream"])
async def test_search_results_and_citations(run: Runner, server: LocalServer, mode: str) -> None:
    llm = model(server, "ernie-4.5-turbo-128k", web_search=SEARCH)
    if mode == "invoke":
        reply = await run.invoke(llm, "今天的新闻")
    else:
        reply = whole(await run.stream(llm, "今天的新闻"))
    assert sent(server)[0]["web_search"] == SEARCH
    results = reply.response_metadata["search_results"]
    assert results
    (text_block,) = [b for b in reply.content_blocks if b["type"] == "text"]
    annotations = text_block.get("annotations") or []
    assert annotations
    urls = {r["url"] for r in results}
    for note in annotations:
        assert note["type"] == "citation"
        assert note["url"] in urls
        assert reply.text[note["start_index"] : note["end_index"]] == note["cited_text"]


@pytest.mark.parametrize(
    ("name", "images", "reasoning"),
    [
        pytest.param("ernie-4.5-turbo-vl", True, False, id="vision"),
        pytest.param("ernie-5.0-thinking-preview", True, True, id="vision-reasoning"),
        pytest.param("qwen3-8b", False, True, id="hybrid"),
        pytest.param("qwen3-vl-new-2027", True, False, id="family-prefix"),
        pytest.param("ernie-lite-8k", False, False, id="text"),
    ],
)
def test_profile_from_the_capability_table(
    server: LocalServer, name: str, images: bool, reasoning: bool
) -> None:
    profile = model(server, name).profile
    assert profile is not None
    assert (profile["image_inputs"], profile["reasoning_output"]) == (images, reasoning)


def _loop(question_after: bool) -> list[Any]:
    call = {"name": "search", "args": {"q": "x"}, "id": "call_1"}
    turn = AIMessage("", tool_calls=[call], additional_kwargs={"reasoning_content": "think"})
    msgs: list[Any] = [
        HumanMessage("q1"),
        AIMessage("old", additional_kwargs={"reasoning_content": "old thought"}),
        HumanMessage("q2"),
        turn,
        ToolMessage("result", tool_call_id="call_1"),
    ]
    return [*msgs, AIMessage("answer"), HumanMessage("q3")] if question_after else msgs


@pytest.mark.parametrize(
    ("interleaved", "question_after", "expected"),
    [
        pytest.param(True, False, ["think"], id="interleaved-in-the-loop"),
        pytest.param(True, True, [], id="interleaved-new-question-drops-it"),
        pytest.param(False, False, [], id="not-interleaved"),
    ],
)
def test_reasoning_goes_back_only_inside_one_tool_loop(
    interleaved: bool, question_after: bool, expected: list[str]
) -> None:
    out = convert_messages_v2(_loop(question_after), interleaved=interleaved)
    assert [m["reasoning_content"] for m in out if "reasoning_content" in m] == expected


async def test_interleaved_model_sends_loop_reasoning(run: Runner, server: LocalServer) -> None:
    llm = model(server, "deepseek-v3.2")
    await run.invoke(llm, _loop(False))
    (body,) = sent(server)
    assert [m.get("reasoning_content") for m in body["messages"] if m["role"] == "assistant"] == [
        None,
        "think",
    ]


async def test_search_status_is_not_answer_text(run: Runner, server: LocalServer) -> None:
    llm = model(server, "ernie-4.5-turbo-128k", web_search={**SEARCH, "enable_status": True})
    chunks = await run.stream(llm, "今天的新闻")
    assert any(c.response_metadata.get("search_status") == "正在搜索" for c in chunks)
    assert "正在搜索" not in whole(chunks).text
