"""Bad v2 requests: every body rule with its code, status and message, the model checks, bad
JSON, wrong methods, unknown paths, huge bodies. Errors always have v2's shape and a real
status (never 200), and the server keeps serving."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qianfan_chat._protocol.codes import UNKNOWN_MODEL_MESSAGE, V2_ERRORS

from .conftest import CUSTOM, V2, V2_MODEL, user

U = {"role": "user", "content": "问题"}
A = {"role": "assistant", "content": "回答"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
MSGS = "Invalid messages"


def body(**fields: Any) -> dict[str, Any]:
    return {"model": V2_MODEL, "messages": [U], **fields}


# (id, body, code, message: exact text, or a fragment when it starts with "~")
BAD_BODIES: list[tuple[str, dict[str, Any], str, str]] = [
    ("model-missing", {"messages": [U]}, "invalid_model", "model is empty"),
    ("model-blank", {"model": " ", "messages": [U]}, "invalid_model", "model is empty"),
    ("model-not-string", {"model": 5, "messages": [U]}, "invalid_model", "model is empty"),
    ("messages-missing", {"model": V2_MODEL}, "invalid_messages", "messages can not be empty"),
    ("messages-empty", body(messages=[]), "invalid_messages", "messages can not be empty"),
    ("messages-not-list", body(messages="hi"), "invalid_messages", "messages can not be empty"),
    ("message-not-object", body(messages=["hi"]), "invalid_messages", MSGS),
    (
        "role-unknown",
        body(messages=[{"role": "function", "content": "x"}]),
        "invalid_messages",
        MSGS,
    ),
    ("role-missing", body(messages=[{"content": "x"}]), "invalid_messages", MSGS),
    ("content-not-text", body(messages=[{"role": "user", "content": 5}]), "invalid_messages", MSGS),
    (
        "tool-calls-on-user",
        body(messages=[{**U, "tool_calls": [CALL]}, U]),
        "invalid_messages",
        MSGS,
    ),
    (
        "tool-call-name-blank",
        body(messages=[U, {**A, "tool_calls": [{**CALL, "function": {"name": " "}}]}, U]),
        "invalid_messages",
        MSGS,
    ),
    (
        "tool-message-without-id",
        body(messages=[U, {**A, "tool_calls": [CALL]}, {"role": "tool", "content": "{}"}]),
        "invalid_messages",
        MSGS,
    ),
    (
        "last-content-blank",
        body(messages=[{"role": "user", "content": "  "}]),
        "invalid_messages",
        "the content of the last message can not be blank",
    ),
    (
        "last-content-missing",
        body(messages=[U, {"role": "assistant", "tool_calls": [CALL]}]),
        "invalid_messages",
        "the content of the last message can not be blank",
    ),
    ("temperature-zero", body(temperature=0), "invalid_argument", "~temperature"),
    ("temperature-high", body(temperature=1.5), "invalid_argument", "~temperature"),
    ("temperature-string", body(temperature="0.5"), "invalid_argument", "~temperature"),
    ("top-p-negative", body(top_p=-0.1), "invalid_argument", "~top_p"),
    ("top-p-high", body(top_p=1.1), "invalid_argument", "~top_p"),
    ("penalty-low", body(penalty_score=0.5), "invalid_argument", "~penalty_score"),
    ("penalty-high", body(penalty_score=2.5), "invalid_argument", "~penalty_score"),
    ("frequency-penalty", body(frequency_penalty=3), "invalid_argument", "~frequency_penalty"),
    ("presence-penalty", body(presence_penalty=-3), "invalid_argument", "~presence_penalty"),
    ("stop-five", body(stop=["a", "b", "c", "d", "e"]), "invalid_argument", "~stop"),
    ("stop-long", body(stop=["x" * 21]), "invalid_argument", "~stop[0]"),
    ("stop-not-strings", body(stop=[1]), "invalid_argument", "~stop"),
    ("max-tokens-zero", body(max_tokens=0), "invalid_argument", "~max_tokens"),
    ("max-tokens-string", body(max_tokens="10"), "invalid_argument", "~max_tokens"),
    ("max-tokens-bool", body(max_tokens=True), "invalid_argument", "~max_tokens"),
    (
        "max-completion-tokens-zero",
        body(max_completion_tokens=0),
        "invalid_argument",
        "~max_completion_tokens",
    ),
    ("seed-zero", body(seed=0), "invalid_argument", "~seed"),
    ("tools-empty", body(tools=[]), "invalid_argument", "~tools"),
    ("tools-not-list", body(tools="f"), "invalid_argument", "~tools"),
    ("tool-wrong-type", body(tools=[{"type": "retrieval"}]), "invalid_argument", "~tools[0]"),
    ("tool-no-function", body(tools=[{"type": "function"}]), "invalid_argument", "~tools[0]"),
    (
        "tool-name-blank",
        body(tools=[{"type": "function", "function": {"name": ""}}]),
        "invalid_argument",
        "~tools[0].function.name",
    ),
    (
        "tool-parameters-not-object",
        body(tools=[{"type": "function", "function": {"name": "f", "parameters": "x"}}]),
        "invalid_argument",
        "~parameters",
    ),
    ("tool-choice-unknown", body(tools=[TOOL], tool_choice="any"), "invalid_argument", "~choice"),
    (
        "tool-choice-no-function",
        body(tools=[TOOL], tool_choice={"type": "function"}),
        "invalid_argument",
        "~tool_choice",
    ),
    ("tool-choice-number", body(tool_choice=5), "invalid_argument", "~tool_choice"),
    ("format-unknown", body(response_format={"type": "xml"}), "invalid_argument", "~format"),
    ("format-string", body(response_format="json_object"), "invalid_argument", "~format"),
    (
        "json-schema-missing",
        body(response_format={"type": "json_schema"}),
        "invalid_argument",
        "~json_schema",
    ),
    ("stream-options-string", body(stream_options="x"), "invalid_argument", "~stream_options"),
    ("stream-not-bool", body(stream="yes"), "invalid_argument", "~stream"),
    ("parallel-not-bool", body(parallel_tool_calls="no"), "invalid_argument", "~parallel"),
    ("thinking-not-bool", body(enable_thinking=1), "invalid_argument", "~enable_thinking"),
    # The model's own max_tokens range (protocol-v2.md: [2, 2048] for 8k models).
    ("max-tokens-below-two", body(max_tokens=1), "invalid_argument", "~[2, 2048]"),
    ("max-tokens-over-8k-range", body(max_tokens=4096), "invalid_argument", "~[2, 2048]"),
    (
        "max-completion-tokens-over-range",
        body(max_completion_tokens=2049),
        "invalid_argument",
        "~max_completion_tokens",
    ),
]


@pytest.mark.parametrize(
    ("data", "code", "message"), [r[1:] for r in BAD_BODIES], ids=[r[0] for r in BAD_BODIES]
)
def test_bad_body(v2: V2, data: dict[str, Any], code: str, message: str) -> None:
    status, error = v2.error(data)
    assert (status, error["code"]) == (V2_ERRORS[code][0], code)
    assert error["type"] == V2_ERRORS[code][1]
    if message.startswith("~"):
        assert message[1:] in error["message"]
    else:
        assert error["message"] == message
    entry = v2.log()[-1]
    assert (entry["status"], entry["error_code"]) == (status, code)
    assert v2.ask("hi")["choices"][0]["message"]["content"]  # Still serving.


# (id, model, accepted)
MODELS: list[tuple[str, str, bool]] = [
    ("v2-id", "ernie-4.0-turbo-8k", True),
    ("deepseek", "deepseek-v3", True),
    ("custom-endpoint", CUSTOM, True),
    ("v1-name", "ERNIE-3.5-8K", False),  # v2 ids are lower case, matched exactly.
    ("v1-suffix", "completions", False),
    ("openai-model", "gpt-4o", False),
]


@pytest.mark.parametrize(("model", "accepted"), [r[1:] for r in MODELS], ids=[r[0] for r in MODELS])
def test_model_lookup(v2: V2, model: str, accepted: bool) -> None:
    if accepted:
        assert v2.ask("hi", model=model)["model"] == model
        return
    status, error = v2.error({"model": model, "messages": user("hi")})
    assert (status, error["code"], error["message"]) == (
        401,
        "invalid_model",
        UNKNOWN_MODEL_MESSAGE,
    )


def test_model_rules_run_before_the_model_lookup(v2: V2) -> None:
    status, error = v2.error({"model": "gpt-4o", "messages": []})
    assert (status, error["code"]) == (400, "invalid_messages")


def test_max_tokens_without_a_documented_upper_bound(v2: V2) -> None:
    assert v2.ask("hi", model="ernie-3.5-128k", max_tokens=4096)["choices"]
    assert v2.ask("hi", max_tokens=2048, max_completion_tokens=2)["choices"]


def test_input_over_the_context_is_tokens_too_long(v2: V2) -> None:
    status, error = v2.error({"model": V2_MODEL, "messages": user("字" * 9000)})
    assert (status, error["code"]) == (400, "tokens_too_long")
    assert "9000" in error["message"]
    assert v2.ask("字" * 9000, model="ernie-3.5-128k")["usage"]["prompt_tokens"] == 9000


# (id, raw body)
MALFORMED: list[tuple[str, bytes]] = [
    ("truncated", b'{"model": "ernie-3.5-8k"'),
    ("list", b"[]"),
    ("string", b'"hi"'),
    ("null", b"null"),
    ("empty", b""),
    ("not-utf8", b"\xff\xfe{}"),
]


@pytest.mark.parametrize("raw", [r[1] for r in MALFORMED], ids=[r[0] for r in MALFORMED])
def test_malformed_json(v2: V2, raw: bytes) -> None:
    status, error = v2.error(raw)
    assert (status, error["code"], error["type"]) == (
        400,
        "malformed_json",
        "invalid_request_error",
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_only_post(v2: V2, method: str) -> None:
    response = v2.client.request(method, v2.server.v2_chat_url, headers=v2.headers())
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_supported"


@pytest.mark.parametrize("path", ["/v2/embeddings", "/v2/chat/completions/x", "/v2/"])
def test_unknown_path_under_the_prefix_is_a_v2_404(v2: V2, path: str) -> None:
    response = v2.client.post(v2.server.url(path), headers=v2.headers(), json={})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert path in error["message"]


def test_huge_body_is_413(serve_v2: Any) -> None:
    small = serve_v2(max_body_bytes=2000)
    status, error = small.error({"model": V2_MODEL, "messages": user("x" * 5000)})
    assert (status, error["code"]) == (413, "characters_too_long")
    assert small.ask("hi")["choices"]


def test_auth_is_checked_before_the_body(v2: V2) -> None:
    status, error = v2.error(b"{", headers={})
    assert (status, error["code"]) == (401, "invalid_iam_token")


def test_configurable_prefix(serve_v2: Any) -> None:
    custom = serve_v2(v2_prefix="/openai/v2/")
    assert custom.server.v2_base_url.endswith("/openai/v2")
    assert custom.ask("hi")["object"] == "chat.completion"
    moved = custom.client.post(custom.server.url("/v2/chat/completions"), json={})
    assert moved.json()["error_code"] == 3  # Not a v2 path any more: v1's catch-all answers.


async def test_errors_on_the_async_path(v2: V2) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            v2.server.v2_chat_url, headers=v2.headers(), json={"model": V2_MODEL, "messages": []}
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_messages"
