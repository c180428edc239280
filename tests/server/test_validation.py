"""Bad requests: every v1 body rule with Baidu's code and text, bad JSON, wrong methods,
unknown paths, huge bodies, wrong types. Never a 500, and the server keeps serving."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from qianfan_chat.server.config import DEFAULT_MAX_BODY_BYTES

from .conftest import CUSTOM, Api, user

U = {"role": "user", "content": "问题"}
A = {"role": "assistant", "content": "回答"}
CALL = {"role": "assistant", "content": "", "function_call": {"name": "f", "arguments": "{}"}}
FN = {"role": "function", "name": "f", "content": "{}"}
TOOL = {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}
INVALID = "Invalid parameter"

# (id, body, error_code, error_msg)
BAD_BODIES: list[tuple[str, dict[str, Any], int, str]] = [
    ("messages-missing", {}, 336003, "the messages can not be empty"),
    ("messages-empty", {"messages": []}, 336003, "the messages can not be empty"),
    ("messages-not-list", {"messages": "hi"}, 336003, "the messages can not be empty"),
    ("message-not-object", {"messages": ["hi"]}, 336003, INVALID),
    ("role-not-string", {"messages": [{"role": 1, "content": "x"}]}, 336003, INVALID),
    (
        "even-count",
        {"messages": [U, A]},
        336006,
        "the length of messages must be an odd number",
    ),
    (
        "odd-index-not-assistant",
        {"messages": [U, U, U]},
        336006,
        "the role of message with odd index in the messages must be assistant",
    ),
    (
        "even-index-assistant",
        {"messages": [A]},
        336006,
        "the role of message with even index in the messages must be user or function",
    ),
    (
        "content-empty",
        {"messages": [{"role": "user", "content": ""}]},
        336003,
        "message content can not be empty",
    ),
    ("content-not-string", {"messages": [{"role": "user", "content": 5}]}, 336003, INVALID),
    (
        "function-call-name-blank",
        {"messages": [U, {**CALL, "function_call": {"name": " "}}, U]},
        336003,
        "function_call's name can't be blank",
    ),
    (
        "function-message-without-name",
        {"messages": [U, CALL, {"role": "function", "content": "{}"}]},
        336003,
        "the name of function message can not be empty",
    ),
    (
        "temperature-zero",
        {"messages": [U], "temperature": 0},
        336003,
        "temperature range is (0.0, 1.0]",
    ),
    ("temperature-string", {"messages": [U], "temperature": "hot"}, 336003, INVALID),
    ("top-p-over", {"messages": [U], "top_p": 1.5}, 336003, "top_p range is [0.0, 1.0]"),
    (
        "penalty-under",
        {"messages": [U], "penalty_score": 0.5},
        336003,
        "penalty_score range is [1.0, 2.0]",
    ),
    ("top-k-string", {"messages": [U], "top_k": "k"}, 336003, INVALID),
    ("stop-not-list", {"messages": [U], "stop": "x"}, 336003, INVALID),
    ("stop-five-items", {"messages": [U], "stop": list("abcde")}, 336003, "stop size is too large"),
    (
        "stop-item-too-long",
        {"messages": [U], "stop": ["x" * 21]},
        336003,
        "stop element length is too large",
    ),
    ("system-not-string", {"messages": [U], "system": 1}, 336003, INVALID),
    (
        "system-too-long",
        {"messages": [U], "system": "s" * 1025},
        336003,
        "system length is too long",
    ),
    ("functions-empty", {"messages": [U], "functions": []}, 336003, INVALID),
    (
        "function-name-blank",
        {"messages": [U], "functions": [{**TOOL, "name": ""}]},
        336003,
        "function's name can't be blank",
    ),
    (
        "function-parameters-not-object",
        {"messages": [U], "functions": [{**TOOL, "parameters": "x"}]},
        336003,
        INVALID,
    ),
    (
        "system-with-functions",
        {"messages": [U], "functions": [TOOL], "system": "persona"},
        336003,
        "system and functions can not be set at the same time",
    ),
    ("max-output-tokens-zero", {"messages": [U], "max_output_tokens": 0}, 336003, INVALID),
    ("stream-not-bool", {"messages": [U], "stream": "yes"}, 336003, INVALID),
    ("user-id-not-string", {"messages": [U], "user_id": 5}, 336003, INVALID),
    ("tool-choice-unknown", {"messages": [U], "tool_choice": "sometimes"}, 336003, INVALID),
    (
        "tool-choice-no-name",
        {"messages": [U], "tool_choice": {"type": "function", "function": {}}},
        336003,
        INVALID,
    ),
    ("response-format-number", {"messages": [U], "response_format": 5}, 336003, INVALID),
]


@pytest.fixture(autouse=True)
def _still_serving(api: Api) -> Iterator[None]:
    """After every bad request the server still answers a good one."""
    yield
    assert api.ask("你好")["result"]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [row[1:] for row in BAD_BODIES],
    ids=[row[0] for row in BAD_BODIES],
)
def test_body_rule(api: Api, body: dict[str, Any], code: int, message: str) -> None:
    response = api.chat(body)
    assert response.status_code == 200
    assert response.json() == {"error_code": code, "error_msg": message}
    assert response.headers["x-bce-request-id"]
    assert api.log()[-1]["error_code"] == code


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_errors_before_a_stream_are_plain_json(api: Api, stream: bool) -> None:
    response = api.chat({"messages": [U, U, U], "stream": stream})
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error_code"] == 336006


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"messages": [}'],
    ids=["text", "empty", "array", "string", "bad-utf8", "truncated"],
)
def test_invalid_json(api: Api, raw: bytes) -> None:
    response = api.chat(raw, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"error_code": 336002, "error_msg": "Invalid JSON"}


@pytest.mark.parametrize(
    ("suffix", "limit"),
    [("completions", 5120), ("eb-instant", 7168), (CUSTOM, 3000)],
    ids=["ernie-3.5", "ernie-lite", "custom-default"],
)
def test_last_message_over_input_limit(api: Api, suffix: str, limit: int) -> None:
    response = api.chat({"messages": user("字" * (limit + 1))}, suffix)
    assert response.json() == {
        "error_code": 336003,
        "error_msg": f"the max length of current question is {limit}",
    }
    assert "error_code" not in api.chat({"messages": user("字" * limit)}, suffix).json()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_on_chat(api: Api, method: str) -> None:
    response = api.client.request(method, api.server.chat_url("completions"))
    assert response.status_code == 200
    assert response.json() == {"error_code": 336101, "error_msg": "Invalid HTTP Method"}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1/chat/completions",
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/no-such-model",
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/",
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions/extra",
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/completions",
        "/oauth/2.0/token/x",
    ],
    ids=["root", "v2-path", "unknown-suffix", "no-suffix", "extra-segment", "no-chat", "oauth-x"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_path(api: Api, path: str, method: str) -> None:
    response = api.client.request(method, api.server.url(path), json={"messages": [U]})
    assert response.status_code == 200
    assert response.json() == {"error_code": 3, "error_msg": "Unsupported openapi method"}


TOO_LARGE = {"error_code": 336001, "error_msg": "request body too large"}


def test_body_over_default_limit(api: Api) -> None:
    over = DEFAULT_MAX_BODY_BYTES
    body = b'{"messages": [{"role": "user", "content": "' + b"x" * over + b'"}]}'
    response = api.chat(body)
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_configured_limit(serve: Any, chunked: bool) -> None:
    small = serve(max_body_bytes=1024)
    body = b'{"messages": [{"role": "user", "content": "' + b"x" * 2000 + b'"}]}'
    content: Any = iter([body[:700], body[700:]]) if chunked else body
    response = small.chat(content)
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert small.log()[-1]["status"] == 413
    fits = b'{"messages": [{"role": "user", "content": "' + b"x" * 900 + b'"}]}'
    assert len(fits) <= 1024
    assert small.chat(iter([fits]) if chunked else fits).json()["result"]


WRONG_VALUES: list[Any] = [None, 0, -1, 1.5, "x", "", True, [], [1], {}, {"a": 1}]
FIELDS = [
    "messages",
    "temperature",
    "top_p",
    "top_k",
    "penalty_score",
    "stop",
    "system",
    "functions",
    "max_output_tokens",
    "stream",
    "user_id",
    "tool_choice",
    "response_format",
    "disable_search",
    "enable_citation",
]
MESSAGE_FIELDS = ["role", "content", "name", "function_call"]


def test_wrong_types_anywhere_never_fail_the_server(api: Api) -> None:
    bodies: list[Any] = [{"messages": [U], key: value} for key in FIELDS for value in WRONG_VALUES]
    bodies += [
        {"messages": [{**U, key: value}]}
        for key, value in itertools.product(MESSAGE_FIELDS, WRONG_VALUES)
    ]
    bodies += [{"messages": [U, {**CALL, "function_call": value}, FN]} for value in WRONG_VALUES]
    for body in bodies:
        response = api.chat(body)
        assert response.status_code == 200, body
        data = response.json() if not response.headers["content-type"].startswith("text/") else {}
        if "error_code" in data:
            assert data["error_code"] in (336002, 336003, 336006), body
    assert all(entry["status"] == 200 for entry in api.log())
