"""Image content parts on the v2 route (server/v2_media.py): a vision model answers, as TEST
DATA, with what it received (count, MIME from the bytes, size, pixels from the PNG/JPEG header;
an http(s) URL is described from the URL alone, never fetched); a model the table knows as
text-only gets 400 ``invalid_argument``; a bad part or an image over 10 MB gets 400."""

from __future__ import annotations

from typing import Any

import pytest

from qianfan_chat._protocol.images import MAX_IMAGE_BYTES, TEXT_ONLY_MESSAGE

from .conftest import CUSTOM, V2, V2_MODEL
from .media import GIF, data_url, image_part, jpeg, png, text_part

VISION = "ernie-4.5-turbo-vl"
PNG = png(3, 2)
JPEG = jpeg(640, 480)
# Never fetched: .invalid cannot resolve (RFC 2606), so a fetch would fail or hang.
REMOTE = "https://images.invalid/cat.png"


def ask(content: list[Any], model: str = VISION) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}]}


# (id, content parts, fragments the scripted answer holds)
RECEIVED: list[tuple[str, list[Any], list[str]]] = [
    (
        "png",
        [text_part("这是什么？"), image_part(data_url(PNG))],
        ["收到 1 张图片", f"图片 image/png，{len(PNG)} 字节，3×2 像素", "您说的是：「这是什么？」"],
    ),
    (
        "jpeg",
        [text_part("描述"), image_part(data_url(JPEG, "image/jpeg"))],
        [f"图片 image/jpeg，{len(JPEG)} 字节，640×480 像素"],
    ),
    (
        "mime-from-bytes-not-the-label",
        [text_part("看"), image_part(data_url(PNG, "image/jpeg"))],
        ["图片 image/png，"],
    ),
    (
        "gif-no-pixel-reader",
        [text_part("看"), image_part(data_url(GIF, "image/gif"))],
        ["image/gif，14 字节。"],
    ),
    (
        "http-url-not-fetched",
        [text_part("看"), image_part(REMOTE)],
        [f"图片链接 {REMOTE}（image/png，未下载）"],
    ),
    (
        "two-images-in-order",
        [image_part(data_url(JPEG)), text_part("比较"), image_part(REMOTE, detail="low")],
        ["收到 2 张图片：1. 图片 image/jpeg", "；2. 图片链接 https://images.invalid/cat.png"],
    ),
    ("image-only-message", [image_part(data_url(PNG))], ["收到 1 张图片"]),
    (
        "plain-string-image-url",
        [text_part("看"), {"type": "image_url", "image_url": data_url(PNG)}],
        ["3×2 像素"],
    ),
    (
        "video-by-url",
        [text_part("看"), {"type": "video_url", "video_url": {"url": "https://v.invalid/a.mp4"}}],
        ["收到 0 张图片、1 段视频", "视频链接 https://v.invalid/a.mp4"],
    ),
]


@pytest.mark.parametrize(
    ("content", "fragments"), [r[1:] for r in RECEIVED], ids=[r[0] for r in RECEIVED]
)
def test_vision_model_answers_with_what_it_received(
    v2: V2, content: list[Any], fragments: list[str]
) -> None:
    response = v2.post(ask(content))
    assert response.status_code == 200, response.text
    text = response.json()["choices"][0]["message"]["content"]
    for fragment in fragments:
        assert fragment in text
    assert text.endswith("这是千帆本地测试服务器的脚本回复。")


def test_earlier_turns_images_are_counted(v2: V2) -> None:
    messages = [
        {"role": "user", "content": [text_part("第一张"), image_part(data_url(PNG))]},
        {"role": "assistant", "content": "好的"},
        {"role": "user", "content": [text_part("第二张"), image_part(data_url(JPEG))]},
    ]
    data = v2.post({"model": VISION, "messages": messages}).json()
    text = data["choices"][0]["message"]["content"]
    assert text.startswith("收到 2 张图片：1. 图片 image/png")
    assert "「第二张」" in text


def test_streamed_answer_is_the_same_text(v2: V2) -> None:
    body = ask([text_part("这是什么？"), image_part(data_url(PNG))])
    whole = v2.post(body).json()["choices"][0]["message"]["content"]
    chunks = v2.stream(body)
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        == whole
    )


def test_custom_endpoint_takes_images(v2: V2) -> None:
    """A deployed service's name is unknown to the table: no hint, so no refusal."""
    response = v2.post(ask([text_part("看"), image_part(data_url(PNG))], model=CUSTOM))
    assert response.status_code == 200
    assert "收到 1 张图片" in response.json()["choices"][0]["message"]["content"]


def test_a_rule_text_is_kept_and_json_stays_json(v2: V2) -> None:
    v2.server.add_rule(contains="规则", text="脚本答案。")
    ruled = v2.post(ask([text_part("规则"), image_part(data_url(PNG))])).json()
    assert ruled["choices"][0]["message"]["content"] == "脚本答案。"
    body = {
        **ask([text_part("json"), image_part(data_url(PNG))]),
        "response_format": {"type": "json_object"},
    }
    text = v2.post(body).json()["choices"][0]["message"]["content"]
    assert text.startswith("{")
    assert "收到" not in text


def test_the_request_log_keeps_the_parts(v2: V2) -> None:
    v2.post(ask([text_part("看"), image_part(REMOTE)]))
    logged = v2.log()[-1]
    assert logged["status"] == 200
    assert REMOTE in str(logged["body"])


# (id, model, content, message: exact, or a fragment when it starts with "~")
REFUSED: list[tuple[str, str, list[Any], str]] = [
    ("text-only-model", V2_MODEL, [text_part("看"), image_part(data_url(PNG))], TEXT_ONLY_MESSAGE),
    (
        "text-only-model-url",
        "deepseek-r1",
        [text_part("看"), image_part(REMOTE)],
        TEXT_ONLY_MESSAGE,
    ),
    ("bad-base64", VISION, [text_part("看"), image_part("data:image/png;base64,@@@")], "~base64"),
    (
        "not-an-image",
        VISION,
        [text_part("看"), image_part(data_url(b"hello world"))],
        "~known format",
    ),
    (
        "ftp-url",
        VISION,
        [text_part("看"), image_part("ftp://x.invalid/a.png")],
        "~http(s) URL or a data: URL",
    ),
    ("detail-unknown", VISION, [text_part("看"), image_part(REMOTE, detail="ultra")], "~detail"),
    (
        "url-missing",
        VISION,
        [text_part("看"), {"type": "image_url", "image_url": {}}],
        "~image_url",
    ),
    (
        "video-not-http",
        VISION,
        [text_part("看"), {"type": "video_url", "video_url": "data:video/mp4;base64,AA=="}],
        "~video_url",
    ),
]


@pytest.mark.parametrize(
    ("model", "content", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused_parts(v2: V2, model: str, content: list[Any], message: str) -> None:
    status, error = v2.error(ask(content, model))
    assert (status, error["code"], error["type"]) == (
        400,
        "invalid_argument",
        "invalid_request_error",
    )
    if message.startswith("~"):
        assert message[1:] in error["message"]
    else:
        assert error["message"] == message
    assert v2.log()[-1]["error_code"] == "invalid_argument"


def test_text_only_refusal_also_on_a_stream(v2: V2) -> None:
    body = {**ask([text_part("看"), image_part(REMOTE)], V2_MODEL), "stream": True}
    response = v2.post(body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == TEXT_ONLY_MESSAGE


@pytest.mark.parametrize(
    ("extra", "status"),
    [(0, 200), (1, 400)],
    ids=["exactly-10-MB", "one-byte-over"],
)
def test_the_10_mb_limit(serve_v2: Any, extra: int, status: int) -> None:
    """10 MB of image is ~13.4 MB of base64, which the default body cap (32 MiB) takes."""
    big = serve_v2()
    image = PNG + b"\x00" * (MAX_IMAGE_BYTES - len(PNG) + extra)
    response = big.post(ask([text_part("大图"), image_part(data_url(image))]))
    assert response.status_code == status, response.text[:300]
    if status == 400:
        error = response.json()["error"]
        assert error["code"] == "invalid_argument"
        assert f"{MAX_IMAGE_BYTES + 1} bytes" in error["message"]
    else:
        assert (
            f"{MAX_IMAGE_BYTES} 字节，3×2 像素"
            in response.json()["choices"][0]["message"]["content"]
        )


def test_the_server_keeps_serving_after_refusals(v2: V2) -> None:
    for _ in range(3):
        v2.post(ask([image_part("data:image/png;base64,!!")]))
    assert v2.ask("你好")["choices"][0]["message"]["content"]
