"""The real ``openai`` package (a client no one here wrote) sends issue 11's requests to the
local server: image parts, ``web_search`` and each family's thinking switch through
``extra_body``; what it reads back is read again by this library's typed readers
(``Completion``, ``parse_catalogue``), so both ends agree on the shapes. Sync, async and
streamed. Needs the server side of issue 11 (scripted reasoning, search results, catalogue)."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

import qianfan_chat
from qianfan_chat._catalogue import parse_catalogue
from qianfan_chat._types import Completion
from qianfan_chat.server import LocalServer

API_KEY = "bce-v3/ALTAK-oaitest0000000000000/0123456789abcdef0123456789abcdef01234567"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
SEARCH = {"enable": True, "enable_trace": True, "enable_citation": True, "enable_status": True}


def _sync(server: LocalServer, **kwargs: Any) -> Any:
    client = openai.OpenAI(base_url=server.base_url + "/v2", api_key=API_KEY, max_retries=0)
    with client:
        return client.chat.completions.create(**kwargs).model_dump()


def _async(server: LocalServer, **kwargs: Any) -> Any:
    async def go() -> Any:
        client = openai.AsyncOpenAI(
            base_url=server.base_url + "/v2", api_key=API_KEY, max_retries=0
        )
        async with client:
            return (await client.chat.completions.create(**kwargs)).model_dump()

    return asyncio.run(go())


def _stream(server: LocalServer, **kwargs: Any) -> list[Any]:
    client = openai.OpenAI(base_url=server.base_url + "/v2", api_key=API_KEY, max_retries=0)
    with client:
        return [c.model_dump() for c in client.chat.completions.create(stream=True, **kwargs)]


@pytest.fixture(params=["sync", "async"])
def create(request: pytest.FixtureRequest, server: LocalServer) -> Any:
    run = _sync if request.param == "sync" else _async
    return lambda **kwargs: Completion.from_dict(run(server, **kwargs))


def test_images(create: Any) -> None:
    content = [{"type": "text", "text": "看图"}, qianfan_chat.image_part(PNG, detail="low")]
    reply = create(model="ernie-4.5-turbo-vl", messages=[{"role": "user", "content": content}])
    assert "image/png" in reply.text


@pytest.mark.parametrize(
    ("model", "switch"),
    [
        pytest.param("qwen3-8b", {"enable_thinking": True}, id="enable_thinking"),
        pytest.param("deepseek-v3.2", {"thinking": {"type": "enabled"}}, id="thinking-type"),
        pytest.param("ernie-5.1", {"thinking_budget": 1024}, id="thinking_budget"),
    ],
)
def test_thinking_switches(
    create: Any, server: LocalServer, model: str, switch: dict[str, Any]
) -> None:
    from qianfan_chat._protocol.thinking import thinking_fields

    option = 1024 if "thinking_budget" in switch else True
    assert thinking_fields(model, option) == switch  # what our client would send
    reply = create(model=model, messages=[{"role": "user", "content": "hi"}], extra_body=switch)
    assert reply.reasoning


def test_web_search(create: Any) -> None:
    reply = create(
        model="ernie-4.5-turbo-128k",
        messages=[{"role": "user", "content": "新闻"}],
        extra_body={"web_search": SEARCH},
    )
    assert reply.search_results
    assert reply.citations
    assert all(c.results for c in reply.citations)


def test_web_search_stream_status(server: LocalServer) -> None:
    chunks = [
        Completion.from_dict(c)
        for c in _stream(
            server,
            model="ernie-4.5-turbo-128k",
            messages=[{"role": "user", "content": "新闻"}],
            extra_body={"web_search": SEARCH},
        )
    ]
    assert any(c.status for c in chunks)
    assert any(c.search_results for c in chunks)
    assert "正在搜索" not in "".join(c.text for c in chunks)


def test_models_list(server: LocalServer) -> None:
    client = openai.OpenAI(base_url=server.base_url + "/v2", api_key=API_KEY, max_retries=0)
    with client:
        page = client.models.list()
    entries = parse_catalogue({"data": [m.model_dump() for m in page.data]})
    assert any(m.id == "ernie-4.5-turbo-vl" and m.vision for m in entries)
    assert any(m.pricing is not None for m in entries)
