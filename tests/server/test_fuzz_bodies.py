"""Seeded fuzzing of every v1 and v2 request body field against the local server (issue 13).

Each example takes a valid body and puts a hostile value in one field (or one message field):
wrong types, NaN and Infinity, numbers past float range, huge and negative integers, deep
nesting, lone surrogates, control characters, very long strings. The server must answer with
Baidu's shape (v1: HTTP 200 and ``error_code``, or a reply; v2: a 2xx reply or a 4xx error
object), never a 5xx or an internal error, and no secret may appear in the reply or in
``GET /_admin/requests``.

``make test`` runs a small fixed number of examples (derandomized: the same ones every run);
``make fuzz`` runs many more (``QIANFAN_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qianfan_chat.server import LocalServer

EXAMPLES = int(os.environ.get("QIANFAN_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run: a failure reproduces
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
V2_MODEL = "ernie-3.5-8k"
BEARER = "bce-v3/ALTAK-fuzzsecret0123456789/0123456789abcdef0123456789abcdef01234567"
INTERNAL_V1 = 336000

V1_FIELDS = [
    "messages", "temperature", "top_p", "penalty_score", "top_k", "stop", "system",
    "functions", "tool_choice", "response_format", "max_output_tokens", "min_output_tokens",
    "stream", "disable_search", "enable_citation", "enable_trace", "enable_system_memory",
    "user_id", "system_memory_id",
]  # fmt: skip
V1_MESSAGE_FIELDS = ["role", "content", "name", "function_call"]
V2_FIELDS = [
    "model", "messages", "temperature", "top_p", "penalty_score", "frequency_penalty",
    "presence_penalty", "stop", "max_tokens", "max_completion_tokens", "seed", "tools",
    "tool_choice", "response_format", "stream", "stream_options", "parallel_tool_calls",
    "enable_thinking", "user",
    # protocol-v2-extensions.md: reasoning switches and web search (issue 11)
    "thinking", "thinking_budget", "reasoning_effort", "thinking_strategy", "web_search",
]  # fmt: skip
V2_MESSAGE_FIELDS = ["role", "content", "tool_calls", "tool_call_id", "name"]


def _deep(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**1000, -1, 0, 1, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["\ud800", "a\udfff", "\x00", "\u2028", "🙂", "x" * 5000, "", "  "]),
)
hostile = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
) | st.builds(_deep, st.integers(min_value=50, max_value=1500), scalars)

# Schema-shaped hostile values for the function / tool parameters.
schemas = st.fixed_dictionaries(
    {"type": st.sampled_from(["object", "array", "string", "number", "integer", "x"])},
    optional={
        "minItems": st.integers(min_value=-5, max_value=10**9),
        "minLength": st.integers(min_value=-5, max_value=10**9),
        "minimum": st.floats(allow_nan=True, allow_infinity=True) | st.integers(),
        "multipleOf": st.floats(allow_nan=True, allow_infinity=True),
        "items": st.just({"type": "array", "minItems": 300, "items": {"type": "string"}}),
        "properties": st.just({"a": {"type": "string", "minLength": 10**8}}),
        "enum": st.lists(hostile, max_size=3),
    },
)


def encode(body: Any) -> bytes:
    # ensure_ascii=True writes lone surrogates as \ud800 escapes; allow_nan writes NaN literals:
    # exactly what a hostile client can put on the wire.
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()


@pytest.fixture(scope="module")
def fuzz_server() -> Any:
    with LocalServer(ak_sk={"fuzz-ak": "fuzz-secret-sk"}) as server:
        yield server


@pytest.fixture(scope="module")
def http(fuzz_server: LocalServer) -> Any:
    with httpx.Client(base_url=fuzz_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def token(fuzz_server: LocalServer, http: httpx.Client) -> str:
    params = {
        "grant_type": "client_credentials",
        "client_id": "fuzz-ak",
        "client_secret": "fuzz-secret-sk",
    }
    return str(http.post("/oauth/2.0/token", params=params).json()["access_token"])


def _no_secrets(http: httpx.Client, reply: httpx.Response, token: str) -> None:
    logged = http.get("/_admin/requests").text
    for secret in (token, "fuzz-secret-sk", BEARER):
        assert secret not in reply.text
        assert secret not in logged
    http.delete("/_admin/requests")


def _check_v1(reply: httpx.Response) -> None:
    assert reply.status_code == 200, reply.text[:300]
    if reply.headers["content-type"].startswith("text/event-stream"):
        assert reply.text.startswith("data: ")
        return
    data = reply.json()
    if "error_code" in data:
        assert isinstance(data["error_code"], int)
        assert data["error_code"] != INTERNAL_V1, data
        assert isinstance(data["error_msg"], str)
    else:
        assert "result" in data


def _check_v2(reply: httpx.Response) -> None:
    assert reply.status_code < 500, reply.text[:300]
    if reply.status_code >= 400:
        error = reply.json()["error"]
        assert set(error) == {"code", "message", "type"}
        assert error["code"] != "internal_error"
    elif not reply.headers["content-type"].startswith("text/event-stream"):
        assert reply.json()["choices"]


@FUZZ
@given(
    field=st.sampled_from(V1_FIELDS),
    value=hostile | st.lists(schemas.map(lambda s: {"name": "f", "parameters": s}), max_size=2),
    stream=st.booleans(),
)
def test_fuzz_v1_body_fields(
    http: httpx.Client, token: str, field: str, value: Any, stream: bool
) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "你好 f"}], "stream": stream}
    body[field] = value
    reply = http.post(
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant",
        params={"access_token": token},
        content=encode(body),
    )
    _check_v1(reply)
    _no_secrets(http, reply, token)


@FUZZ
@given(field=st.sampled_from(V1_MESSAGE_FIELDS), value=hostile, index=st.sampled_from([0, 2]))
def test_fuzz_v1_message_fields(
    http: httpx.Client, token: str, field: str, value: Any, index: int
) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    messages[index][field] = value
    reply = http.post(
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-bot",
        params={"access_token": token},
        content=encode({"messages": messages}),
    )
    _check_v1(reply)
    _no_secrets(http, reply, token)


@FUZZ
@given(
    field=st.sampled_from(V2_FIELDS),
    value=hostile
    | st.lists(
        schemas.map(lambda s: {"type": "function", "function": {"name": "f", "parameters": s}}),
        max_size=2,
    ),
    stream=st.booleans(),
    # a plain model, and models with each kind of reasoning switch (hybrid, budget)
    model=st.sampled_from([V2_MODEL, "deepseek-v3.2", "ernie-5.1", "qwen3-8b"]),
)
def test_fuzz_v2_body_fields(
    http: httpx.Client, token: str, field: str, value: Any, stream: bool, model: str
) -> None:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "你好 f"}],
        "stream": stream,
        "tool_choice": "auto",
    }
    body[field] = value
    reply = http.post(
        "/v2/chat/completions", content=encode(body), headers={"Authorization": f"Bearer {BEARER}"}
    )
    _check_v2(reply)
    _no_secrets(http, reply, token)


@FUZZ
@given(field=st.sampled_from(V2_MESSAGE_FIELDS), value=hostile, index=st.sampled_from([0, 1, 2]))
def test_fuzz_v2_message_fields(
    http: httpx.Client, token: str, field: str, value: Any, index: int
) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "s"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "r"},
    ]
    messages[index][field] = value
    reply = http.post(
        "/v2/chat/completions",
        content=encode({"model": V2_MODEL, "messages": messages}),
        headers={"Authorization": f"Bearer {BEARER}"},
    )
    _check_v2(reply)
    _no_secrets(http, reply, token)


@FUZZ
@given(
    raw=st.binary(max_size=200)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_fuzz_raw_bytes(http: httpx.Client, token: str, raw: bytes) -> None:
    v1 = http.post(
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/eb-instant",
        params={"access_token": token},
        content=raw,
    )
    _check_v1(v1)
    v2 = http.post(
        "/v2/chat/completions", content=raw, headers={"Authorization": f"Bearer {BEARER}"}
    )
    _check_v2(v2)
