"""Batch lines get what the live route answers for issue 11's extras (server/batches.py's
``answer_line``): images described or refused with the same 400, reasoning by the switch, web
search results and markers. All TEST DATA."""

from __future__ import annotations

from typing import Any

from qianfan_chat._protocol.images import TEXT_ONLY_MESSAGE

from .conftest import V2, V2_MODEL
from .media import data_url, image_part, png, text_part
from .test_batches import file_lines, run_job

VISION = "ernie-4.5-turbo-vl"


def line(custom_id: str, model: str, content: Any, **fields: Any) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": content}], **fields}
    return {"custom_id": custom_id, "method": "POST", "url": "/v2/chat/completions", "body": body}


def results(v2: V2, lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    batch = run_job(v2, lines)
    assert batch["status"] == "Done"
    out = {r["custom_id"]: r for r in file_lines(v2, batch["output_file_id"])}
    if batch.get("error_file_id"):
        out.update({r["custom_id"]: r for r in file_lines(v2, batch["error_file_id"])})
    return out


def live(v2: V2, entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = v2.post(entry["body"])
    return response.status_code, response.json()


def test_image_lines_answer_as_live(v2: V2) -> None:
    lines = [
        line("ok", VISION, [text_part("看"), image_part(data_url(png(5, 4)))]),
        line("bad", VISION, [text_part("看"), image_part("data:image/png;base64,@@")]),
    ]
    got = results(v2, lines)
    text = got["ok"]["response"]["body"]["choices"][0]["message"]["content"]
    assert "5×4 像素" in text
    assert text == live(v2, lines[0])[1]["choices"][0]["message"]["content"]
    status, body = live(v2, lines[1])
    assert got["bad"]["response"]["status_code"] == status == 400
    assert got["bad"]["error"]["message"] == body["error"]["message"]


def test_text_only_model_line_is_refused(v2: V2) -> None:
    got = results(
        v2, [line("t", V2_MODEL, [text_part("看"), image_part("https://x.invalid/a.png")])]
    )
    assert got["t"]["response"]["status_code"] == 400
    assert got["t"]["error"] == {"code": "invalid_argument", "message": TEXT_ONLY_MESSAGE}


def test_reasoning_and_search_lines(v2: V2) -> None:
    lines = [
        line(
            "on",
            "qwen3-32b",
            "你好",
            enable_thinking=True,
            web_search={"enable": True, "reference_number": 2},
        ),
        line("off", "qwen3-32b", "你好"),
    ]
    got = results(v2, lines)
    on = got["on"]["response"]["body"]
    assert on["choices"][0]["message"]["reasoning_content"]
    assert [r["index"] for r in on["search_results"]] == [1, 2]
    assert on["choices"][0]["message"]["content"].endswith("^[1][2]^")
    off = got["off"]["response"]["body"]
    assert "reasoning_content" not in off["choices"][0]["message"]
    assert "search_results" not in off
