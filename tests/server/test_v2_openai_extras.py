"""Issue 11 through a client nobody here wrote: the real ``openai`` package sends images
(content parts), ``web_search`` and each family's thinking switch (``extra_body``) to the local
server and reads the Qianfan fields back from ``model_extra`` (``reasoning_content``,
``search_results``, ``delta_tag``); ``client.models.list()`` reads the catalogue. Sync
(``OpenAI``) and async (``AsyncOpenAI``); every reply is TEST DATA."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from qianfan_chat._protocol.images import TEXT_ONLY_MESSAGE
from qianfan_chat._protocol.models_v2 import V2_MODELS
from qianfan_chat._protocol.search import markers
from qianfan_chat.server import LocalServer

from .conftest import V2_KEY, V2_MODEL
from .media import data_url, image_part, jpeg, png, text_part

VISION = "ernie-4.5-turbo-vl"
PNG = png(4, 3)


@pytest.fixture(scope="module")
def v2_server() -> Iterator[LocalServer]:
    with LocalServer(api_keys=[V2_KEY]) as server:
        yield server


@pytest.fixture
def server(v2_server: LocalServer) -> LocalServer:
    v2_server.reset()
    return v2_server


@pytest.fixture
def sync_client(server: LocalServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.v2_base_url, api_key=V2_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
async def async_client(server: LocalServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=server.v2_base_url, api_key=V2_KEY, max_retries=0
    ) as client:
        yield client


def image_messages() -> list[Any]:
    return [
        {
            "role": "user",
            "content": [
                text_part("这两张图是什么？"),
                image_part(data_url(PNG), detail="high"),
                image_part(data_url(jpeg(320, 200), "image/jpeg")),
            ],
        }
    ]


def test_images(sync_client: openai.OpenAI) -> None:
    completion = sync_client.chat.completions.create(model=VISION, messages=image_messages())
    text = completion.choices[0].message.content or ""
    assert text.startswith("收到 2 张图片：1. 图片 image/png")
    assert "4×3 像素" in text
    assert "image/jpeg" in text
    assert "320×200 像素" in text


async def test_images_stream_async(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(
        model=VISION, messages=image_messages(), stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text.startswith("收到 2 张图片")


def test_text_only_model_refuses_images(sync_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sync_client.chat.completions.create(model=V2_MODEL, messages=image_messages())
    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_argument"
    assert TEXT_ONLY_MESSAGE in caught.value.message


# (id, model, extra_body)
SWITCHES: list[tuple[str, str, dict[str, Any]]] = [
    ("enable_thinking", "qwen3-32b", {"enable_thinking": True}),
    ("thinking-type", "deepseek-v3.2", {"thinking": {"type": "enabled"}}),
    ("thinking_budget", "ernie-5.1", {"thinking_budget": 2048}),
    (
        "reasoning_effort",
        "deepseek-v4-pro",
        {"thinking": {"type": "enabled"}, "reasoning_effort": "high"},
    ),
]


@pytest.mark.parametrize(
    ("model", "extra"), [r[1:] for r in SWITCHES], ids=[r[0] for r in SWITCHES]
)
def test_thinking_switches(sync_client: openai.OpenAI, model: str, extra: dict[str, Any]) -> None:
    on = sync_client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "1+1=?"}], extra_body=extra
    )
    reasoning = (on.choices[0].message.model_extra or {}).get("reasoning_content")
    assert reasoning == "用户的最后一条消息是「1+1=?」，按本地测试服务器的脚本作答。"


def test_hybrid_model_without_switch_does_not_reason(sync_client: openai.OpenAI) -> None:
    off = sync_client.chat.completions.create(
        model="qwen3-32b", messages=[{"role": "user", "content": "1+1=?"}]
    )
    assert "reasoning_content" not in (off.choices[0].message.model_extra or {})


async def test_thinking_stream_async(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(
        model="qwen3-32b",
        messages=[{"role": "user", "content": "1+1=?"}],
        stream=True,
        extra_body={"enable_thinking": True},
    )
    reasoning, answer = [], []
    async for chunk in stream:
        for choice in chunk.choices:
            reasoning.append((choice.delta.model_extra or {}).get("reasoning_content") or "")
            answer.append(choice.delta.content or "")
    assert "".join(reasoning).startswith("用户的最后一条消息是")
    assert "".join(answer).startswith("您说的是")


def test_logprobs_on_thinking_model_is_bad_request(sync_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sync_client.chat.completions.create(
            model="deepseek-r1", messages=[{"role": "user", "content": "hi"}], logprobs=True
        )
    assert caught.value.code == "invalid_argument"


WEB_SEARCH = {
    "web_search": {
        "enable": True,
        "enable_trace": True,
        "enable_citation": True,
        "reference_number": 2,
    }
}


def test_web_search(sync_client: openai.OpenAI) -> None:
    completion = sync_client.chat.completions.create(
        model=V2_MODEL, messages=[{"role": "user", "content": "北京新闻"}], extra_body=WEB_SEARCH
    )
    results = (completion.model_extra or {})["search_results"]
    assert [r["index"] for r in results] == [1, 2]
    text = completion.choices[0].message.content or ""
    assert [m.indices for m in markers(text)] == [(1,), (1, 2)]


async def test_web_search_stream_async(async_client: openai.AsyncOpenAI) -> None:
    body = {"web_search": {**WEB_SEARCH["web_search"], "enable_status": True}}
    stream = await async_client.chat.completions.create(
        model=V2_MODEL,
        messages=[{"role": "user", "content": "北京新闻"}],
        stream=True,
        extra_body=body,
    )
    statuses, answer, results = [], [], []
    async for chunk in stream:
        results.extend((chunk.model_extra or {}).get("search_results") or [])
        for choice in chunk.choices:
            if (choice.delta.model_extra or {}).get("delta_tag") == "search_status":
                statuses.append(choice.delta.content)
            else:
                answer.append(choice.delta.content or "")
    assert statuses == ["正在搜索"]
    assert len(results) == 2
    assert "正在搜索" not in "".join(answer)
    assert markers("".join(answer))


def test_models_list(sync_client: openai.OpenAI) -> None:
    models = list(sync_client.models.list())
    assert [m.id for m in models] == list(V2_MODELS)
    (vision,) = [m for m in models if m.id == VISION]
    assert vision.owned_by == "baidu"
    assert (vision.model_extra or {})["type"] == "multimodal"
    assert (vision.model_extra or {})["context_length"] > 0


async def test_models_retrieve_async(async_client: openai.AsyncOpenAI) -> None:
    model = await async_client.models.retrieve("deepseek-v3.1-think-250821")
    extra = model.model_extra or {}
    assert (extra["max_tokens"], extra["max_completions_tokens"]) == (32768, 65536)
    assert extra["pricing"] == {"prompt": "0.004", "completion": "0.012"}
    with pytest.raises(openai.NotFoundError):
        await async_client.models.retrieve("gpt-4o")
