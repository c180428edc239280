"""Reasoning on the v2 route: always-on models answer with scripted ``reasoning_content``
(TEST DATA), hybrid models only when their switch is on (read in every plausible form, so
another family's switch is understood too), models that cannot reason never; ``logprobs`` on a
request that thinks is 400 ``invalid_argument``. Whole replies and streams."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import CUSTOM, V2, V2_MODEL, user

ON, OFF = {"type": "enabled"}, {"type": "disabled"}

# (id, model, switch fields, reasons)
SWITCHES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("r1-always", "deepseek-r1", {}, True),
    ("x1-always", "ernie-x1-turbo-32k", {}, True),
    ("x1-switch-cannot-turn-off", "ernie-x1-turbo-32k", {"enable_thinking": False}, True),
    ("qwen3-default-off", "qwen3-32b", {}, False),
    ("qwen3-enable_thinking", "qwen3-32b", {"enable_thinking": True}, True),
    ("qwen3-enable_thinking-false", "qwen3-32b", {"enable_thinking": False}, False),
    ("qwen3-thinking-type-also-read", "qwen3-32b", {"thinking": ON}, True),
    ("ernie-4.5-vl-preview", "ernie-4.5-turbo-vl-preview", {"enable_thinking": True}, True),
    ("deepseek-v3.2-default-off", "deepseek-v3.2", {}, False),
    ("deepseek-v3.2-enabled", "deepseek-v3.2", {"thinking": ON}, True),
    ("deepseek-v3.2-disabled", "deepseek-v3.2", {"thinking": OFF}, False),
    ("glm-5-enabled", "glm-5", {"thinking": ON}, True),
    ("deepseek-v4-effort", "deepseek-v4-pro", {"thinking": ON, "reasoning_effort": "max"}, True),
    ("deepseek-v4-effort-alone", "deepseek-v4-flash", {"reasoning_effort": "high"}, True),
    ("ernie-5.1-default-on", "ernie-5.1", {}, True),
    ("ernie-5.1-budget", "ernie-5.1", {"thinking_budget": 1024}, True),
    ("ernie-5.1-budget-zero", "ernie-5.1", {"thinking_budget": 0}, False),
    ("ernie-5.0-thinking", "ernie-5.0-thinking-preview", {}, True),
    ("ernie-5.0-thinking-off", "ernie-5.0-thinking-preview", {"enable_thinking": False}, False),
    ("text-model-ignores-switch", V2_MODEL, {"enable_thinking": True}, False),
    ("custom-endpoint-ignores-switch", CUSTOM, {"thinking": ON}, False),
]


def _reasoning(v2: V2, model: str, fields: dict[str, Any]) -> tuple[str | None, str]:
    response = v2.post({"model": model, "messages": user("为什么天是蓝的"), **fields})
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    return message.get("reasoning_content"), message["content"]


@pytest.mark.parametrize(
    ("model", "fields", "reasons"), [r[1:] for r in SWITCHES], ids=[r[0] for r in SWITCHES]
)
def test_switches(v2: V2, model: str, fields: dict[str, Any], reasons: bool) -> None:
    reasoning, content = _reasoning(v2, model, fields)
    assert content.startswith("您说的是")
    if reasons:
        assert reasoning == "用户的最后一条消息是「为什么天是蓝的」，按本地测试服务器的脚本作答。"
    else:
        assert reasoning is None


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("deepseek-r1", {}),
        ("qwen3-32b", {"enable_thinking": True}),
        ("deepseek-v3.2", {"thinking": ON}),
    ],
    ids=["always", "enable_thinking", "thinking-type"],
)
def test_stream_sends_reasoning_before_the_answer(
    v2: V2, model: str, fields: dict[str, Any]
) -> None:
    body = {"model": model, "messages": user("为什么天是蓝的"), **fields}
    whole = v2.post(body).json()["choices"][0]["message"]
    deltas = [c["choices"][0]["delta"] for c in v2.stream(body) if c["choices"]]
    kinds = [k for d in deltas for k in ("reasoning_content", "content") if d.get(k)]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning_content")  # reasoning first
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == whole["reasoning_content"]
    assert "".join(d.get("content") or "" for d in deltas) == whole["content"]


def test_hybrid_stream_without_switch_has_no_reasoning(v2: V2) -> None:
    chunks = v2.stream({"model": "qwen3-32b", "messages": user("你好")})
    assert not any(
        c["choices"][0]["delta"].get("reasoning_content") for c in chunks if c["choices"]
    )


def test_reasoning_counts_as_completion_tokens(v2: V2) -> None:
    off = v2.post({"model": "qwen3-32b", "messages": user("你好")}).json()["usage"]
    on = v2.post({"model": "qwen3-32b", "messages": user("你好"), "enable_thinking": True}).json()
    assert on["usage"]["completion_tokens"] > off["completion_tokens"]


# (id, model, fields, refused)
LOGPROBS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("always-on-logprobs", "deepseek-r1", {"logprobs": True}, True),
    ("always-on-top_logprobs", "ernie-x1-turbo-32k", {"top_logprobs": 2}, True),
    ("hybrid-on-logprobs", "qwen3-32b", {"enable_thinking": True, "logprobs": True}, True),
    ("hybrid-thinking-type", "deepseek-v3.2", {"thinking": ON, "logprobs": True}, True),
    ("hybrid-off-logprobs", "qwen3-32b", {"logprobs": True}, False),
    ("logprobs-false", "deepseek-r1", {"logprobs": False}, False),
    ("text-model-logprobs", V2_MODEL, {"logprobs": True, "top_logprobs": 1}, False),
]


@pytest.mark.parametrize(
    ("model", "fields", "refused"), [r[1:] for r in LOGPROBS], ids=[r[0] for r in LOGPROBS]
)
def test_logprobs_on_a_thinking_request(
    v2: V2, model: str, fields: dict[str, Any], refused: bool
) -> None:
    body = {"model": model, "messages": user("你好"), **fields}
    if not refused:
        assert v2.post(body).status_code == 200
        return
    status, error = v2.error(body)
    assert (status, error["code"]) == (400, "invalid_argument")
    assert "not supported by thinking models" in error["message"]
    assert v2.post({**body, "stream": True}).status_code == 400
