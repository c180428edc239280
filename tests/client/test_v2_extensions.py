"""Issue 11, the client side: images, the one ``thinking`` option, ``web_search``, the live
catalogue and cost, each over loopback on the sync, async and streaming paths.

Rows that read what the local server answers (its image summary, scripted reasoning and search
results, ``/v2/models``, the status chunk) need the server side of issue 11 (server/v2_media,
v2_search, models_route); rows that only read what was SENT need nothing but the route.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import qianfan_chat
from qianfan_chat import ChatCompletion, InvalidRequestError
from qianfan_chat.server import LocalServer

from .conftest import Caller

API_KEY = "bce-v3/ALTAK-testkey0000000000000/0123456789abcdef0123456789abcdef01234567"
V2_PATH = "/v2/chat/completions"
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


@pytest.fixture
def v2(server: LocalServer) -> Any:
    qianfan_chat.clear_catalogue_cache()
    with ChatCompletion(version=2, api_key=API_KEY, base_url=server.base_url) as chat:
        yield chat


def sent(server: LocalServer) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in server.requests() if r["path"] == V2_PATH]


def ask(text: str, *parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": text}, *parts]}]


# -- 1. images -------------------------------------------------------------------------------


def test_data_url_mime_comes_from_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "named-like-a.jpg"  # the name lies; the bytes say PNG
    path.write_bytes(PNG)
    assert qianfan_chat.image_data_url(path).startswith("data:image/png;base64,iVBOR")
    assert qianfan_chat.image_data_url(JPEG_HEAD).startswith("data:image/jpeg;base64,")
    part = qianfan_chat.image_part(PNG, detail="low")
    assert part["type"] == "image_url"
    assert part["image_url"]["detail"] == "low"
    assert qianfan_chat.image_part("https://x.test/a.png")["image_url"] == {
        "url": "https://x.test/a.png"
    }
    with pytest.raises(InvalidRequestError, match="unknown image format"):
        qianfan_chat.image_data_url(b"not an image")
    with pytest.raises(InvalidRequestError, match="10 MB"):
        qianfan_chat.image_data_url(PNG + b"\0" * (10 * 1024 * 1024))


async def test_image_parts_are_sent_and_answered(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    msgs = ask("这是什么", qianfan_chat.image_part(PNG, detail="high"))
    resp = await caller.do(v2, msgs, model="ernie-4.5-turbo-vl")
    (body,) = sent(server)
    assert body["messages"] == msgs
    assert "image/png" in resp.completion.text  # needs the server side: its image summary


async def test_all_text_parts_go_as_a_string(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    parts = [{"type": "text", "text": "你"}, {"type": "text", "text": "好"}]
    await caller.do(v2, [{"role": "user", "content": parts}])
    assert sent(server)[0]["messages"] == [{"role": "user", "content": "你好"}]


async def test_an_oversized_image_is_refused_before_the_network(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    big = "data:image/png;base64," + "A" * (14 * 1024 * 1024)
    with pytest.raises(InvalidRequestError) as info:
        await caller.do(
            v2, ask("看", {"type": "image_url", "image_url": {"url": big}}), model="ernie-5.0"
        )
    assert "10 MB" in str(info.value)
    assert sent(server) == []


@pytest.mark.parametrize(
    "part",
    [
        pytest.param({"type": "image_url", "image_url": {"url": "ftp://x/a.png"}}, id="scheme"),
        pytest.param(
            {"type": "image_url", "image_url": {"url": "data:,x", "detail": "huge"}}, id="detail"
        ),
        pytest.param({"type": "image_url"}, id="no-url"),
        pytest.param({"type": "audio", "audio": {}}, id="unknown-part"),
    ],
)
def test_malformed_parts_are_refused(v2: ChatCompletion, part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        v2.do(ask("看", part), model="ernie-5.0")


async def test_a_text_only_model_warns_and_still_sends(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    msgs = ask("看", qianfan_chat.image_part("https://x.test/a.png"))
    with (
        pytest.warns(qianfan_chat.TextOnlyModelWarning, match="ernie-lite-8k"),
        pytest.raises(qianfan_chat.BadRequestError) as info,  # the server side's 400
    ):
        await caller.do(v2, msgs, model="ernie-lite-8k")
    assert info.value.error_code == "invalid_argument"
    assert len(sent(server)) == 1


def test_an_unknown_model_gets_no_warning(v2: ChatCompletion, server: LocalServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", qianfan_chat.TextOnlyModelWarning)
        with contextlib.suppress(qianfan_chat.APIError):  # the server may not know it
            v2.do(ask("看", qianfan_chat.image_part(PNG)), model="brand-new-vl-2027")
    assert len(sent(server)) == 1


# -- 2. reasoning ----------------------------------------------------------------------------

THINKING_ROWS = [
    ("qwen3-8b", True, {"enable_thinking": True}),
    ("qwen3-8b", False, {"enable_thinking": False}),
    ("ernie-5.1", 2048, {"thinking_budget": 2048}),
    ("ernie-5.1", 10, {"thinking_budget": 100}),
    ("deepseek-v3.2", True, {"thinking": {"type": "enabled"}}),
    ("glm-5", False, {"thinking": {"type": "disabled"}}),
    ("deepseek-v4-pro", "max", {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}),
    ("deepseek-v4-flash", "low", {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}),
    ("deepseek-r1", True, {}),
    ("qwen3-vl-new-2027", True, {"enable_thinking": True}),  # by its family prefix
    ("unknown-model", True, {"enable_thinking": True}),
]
SWITCHES = ("enable_thinking", "thinking_budget", "thinking", "reasoning_effort")


@pytest.mark.parametrize(
    ("model", "option", "fields"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in THINKING_ROWS],
)
async def test_thinking_becomes_the_family_switch(
    caller: Caller,
    v2: ChatCompletion,
    server: LocalServer,
    model: str,
    option: Any,
    fields: dict[str, Any],
) -> None:
    with contextlib.suppress(qianfan_chat.APIError):  # an id the server lacks: body only
        await caller.do(v2, [{"role": "user", "content": "hi"}], model=model, thinking=option)
    (body,) = sent(server)
    assert {k: body[k] for k in SWITCHES if k in body} == fields


def test_thinking_on_the_constructor_and_raw_fields_win(server: LocalServer) -> None:
    with ChatCompletion(
        version=2, api_key=API_KEY, base_url=server.base_url, model="qwen3-8b", thinking=True
    ) as chat:
        chat.do([{"role": "user", "content": "a"}])
        chat.do([{"role": "user", "content": "b"}], thinking=False)
        chat.do([{"role": "user", "content": "c"}], enable_thinking=False)
        chat.do([{"role": "user", "content": "d"}], thinking={"type": "enabled"})
    bodies = sent(server)
    assert [b.get("enable_thinking") for b in bodies] == [True, False, False, None]
    assert bodies[3]["thinking"] == {"type": "enabled"}  # a raw object is sent as it is
    with pytest.raises(InvalidRequestError, match="thinking"):
        chat.do([{"role": "user", "content": "e"}], thinking="very-hard")


async def test_reasoning_is_typed_and_streamed_apart(caller: Caller, v2: ChatCompletion) -> None:
    resp = await caller.do(v2, [{"role": "user", "content": "hi"}], model="deepseek-r1")
    message = resp.completion.choices[0].message
    assert message.reasoning_content
    assert message.content
    assert resp.completion.reasoning == message.reasoning_content
    chunks = await caller.stream(v2, [{"role": "user", "content": "hi"}], model="deepseek-r1")
    reasoning = "".join(c.completion.reasoning for c in chunks)
    answer = "".join(c.completion.text for c in chunks)
    assert reasoning == message.reasoning_content
    assert answer == message.content


def test_stream_reasoning_property(v2: ChatCompletion) -> None:
    with v2.do([{"role": "user", "content": "hi"}], model="deepseek-r1", stream=True) as s:
        list(s)
    assert s.reasoning
    assert s.text
    assert s.reasoning not in s.text


# -- 3. web search ---------------------------------------------------------------------------

SEARCH = {"enable": True, "enable_trace": True, "enable_citation": True}


async def test_web_search_option_sends_the_new_names(
    caller: Caller, v2: ChatCompletion, server: LocalServer
) -> None:
    option = {**SEARCH, "search_num": 5, "reference_num": 9, "search_mode": "auto"}
    await caller.do(v2, [{"role": "user", "content": "今天新闻"}], web_search=option)
    assert sent(server)[0]["web_search"] == {
        **SEARCH,
        "search_number": 5,
        "reference_number": 5,  # clamped to search_number
        "search_mode": "auto",
    }


@pytest.mark.parametrize(
    "option",
    [
        pytest.param({"enable": "yes"}, id="bool"),
        pytest.param({"enable": True, "search_number": 29}, id="range"),
        pytest.param({"enable": True, "search_mode": "always"}, id="mode"),
        pytest.param(["enable"], id="shape"),
    ],
)
def test_bad_web_search_options_are_refused(v2: ChatCompletion, option: Any) -> None:
    with pytest.raises(InvalidRequestError, match="web_search"):
        v2.do([{"role": "user", "content": "x"}], web_search=option)


async def test_search_results_and_citations(caller: Caller, v2: ChatCompletion) -> None:
    resp = await caller.do(
        v2, [{"role": "user", "content": "新闻"}], model="ernie-4.5-turbo-128k", web_search=SEARCH
    )
    completion = resp.completion
    assert completion.search_results, "needs the server side: scripted search results"
    by_index = {r.index: r for r in completion.search_results}
    assert completion.citations
    for citation in completion.citations:
        assert completion.text[citation.start : citation.end].startswith("^[")
        assert citation.results == tuple(by_index[i] for i in citation.indices)


def test_search_in_a_stream_with_its_status(v2: ChatCompletion) -> None:
    option = {**SEARCH, "enable_status": True}
    with v2.do(
        [{"role": "user", "content": "新闻"}],
        model="ernie-4.5-turbo-128k",
        web_search=option,
        stream=True,
    ) as stream:
        chunks = list(stream)
    assert stream.search_status == "正在搜索"
    assert "正在搜索" not in stream.text
    assert any(c.completion.status for c in chunks)
    assert stream.search_results
    assert stream.citations


def test_typed_search_shapes() -> None:
    from qianfan_chat._types import Completion

    result = {"index": 1, "url": "https://a.test", "title": "A", "datasource_id": "d"}
    for body in (
        {"choices": [], "search_results": [result]},
        {"choices": [], "web_search": [result]},
        {"choices": [], "web_search": {"search_results": [result]}},
    ):
        (got,) = Completion.from_dict(body).search_results
        assert (got.index, got.url, got.title, got.datasource_id) == (1, "https://a.test", "A", "d")
    for where in ("delta", "choice", "top"):
        delta: dict[str, Any] = {"content": "正在搜索"}
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        body = {"choices": [choice]}
        {"delta": delta, "choice": choice, "top": body}[where]["delta_tag"] = "search_status"
        completion = Completion.from_dict(body)
        assert (completion.status, completion.text) == ("正在搜索", "")


# -- 4. the catalogue and cost ---------------------------------------------------------------


async def test_catalogue_is_typed_and_cached(v2: ChatCompletion, server: LocalServer) -> None:
    models = qianfan_chat.list_models(v2)
    assert models
    assert all(m.id for m in models)
    again = await qianfan_chat.alist_models(v2)
    assert again is models  # cached for CATALOGUE_TTL_SECONDS
    gets = [r for r in server.requests() if r["path"] == "/v2/models"]
    assert len(gets) == 1
    assert qianfan_chat.list_models(v2, refresh=True) is not models
    by_id = {m.id: m for m in models}
    vl = by_id["ernie-4.5-turbo-vl"]
    assert vl.vision is True
    assert vl.context_length
    priced = [m for m in models if m.pricing is not None]
    assert priced  # needs the server side's 2026 fields


def test_catalogue_entry_shapes() -> None:
    from qianfan_chat._catalogue import parse_catalogue

    fixture = {  # protocol-v2-extensions.md section 4
        "id": "deepseek-v3.1-think-250821",
        "object": "model",
        "type": "chat",
        "context_length": 163840,
        "max_completions_tokens": 65536,
        "max_tokens": 32768,
        "pricing": {"prompt": "0.004", "completion": "0.012"},
    }
    (model,) = parse_catalogue({"object": "list", "data": [fixture, {"object": "model"}]})
    assert (model.context_length, model.max_tokens, model.max_completions_tokens) == (
        163840,
        32768,
        65536,
    )
    assert model.pricing is not None
    assert model.pricing.prompt == Decimal("0.004")
    assert model.reasoning is True
    assert parse_catalogue([{"id": "x"}])[0].pricing is None


async def test_cost_in_cny(caller: Caller, v2: ChatCompletion) -> None:
    resp = await caller.do(v2, [{"role": "user", "content": "hi"}], model="ernie-4.5-turbo-128k")
    usage = resp.completion.usage
    assert usage is not None
    expected = (
        Decimal("0.0008") * usage.prompt_tokens + Decimal("0.0032") * usage.completion_tokens
    ) / 1000
    assert resp.completion.cost == expected
    assert qianfan_chat.cost_of("deepseek-v3", usage) is None  # no price known


@pytest.mark.parametrize(
    "option",
    [
        pytest.param({"thinking": True}, id="thinking"),
        pytest.param({"web_search": {"enable": True}}, id="search"),
    ],
)
def test_v2_options_on_a_v1_client_are_refused(option: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError, match="v2 option"):
        ChatCompletion(ak="ak", sk="sk", **option)
